"""Pristine state for every card: snapshot the warm worker, then after each card put back what is known and find the rest.

A worker runs many cards in one process, so a card could change what a later
card sees (`torch.zeros = torch.ones`, a grad mode left off, numpy's error
state, a thread that keeps patching). Forking a clean template per card is
not an option here (a fork of a process with torch imported costs ~13 ms on
this kind of machine, and a forked child hangs on its first parallel op), so
the worker keeps its process and, after every card, `StateWatch.check()`:

1. compares the interpreter's state with the snapshot taken when the worker
   was warm: every loaded module's namespace, the namespaces of the classes
   and objects those hold, and the dicts, lists and sets they hold directly.
   Reading every container in Python would take milliseconds, so the watch
   reads machine words instead, with one numpy gather: a dict's version tag
   (CPython bumps it on every change), a list's length and item pointers, a
   set's table. Only containers whose words changed are compared precisely,
   by identity, to name what changed and to tell a cache or an import from a
   card's doing. This is what catches changes nobody listed;
2. reads the settings that live in C (`Setting`: torch's grad mode, numpy's
   error state, the recursion limit, signal handlers...) and puts back any
   that changed;
3. counts OS threads (`/proc/self/task`, which sees threads `threading` does
   not), open file descriptors, and checks the working directory and the C
   environment.

A change to known state (`Policy.known`, settings with a `restore`) is put
back and reported; a change to anything else is reported and makes the
worker unusable (`Findings.recycle`): the runner replaces it before the next
card. A module the card imported is not the card's fault, but the worker is
replaced all the same: nothing vouches for the new module's state.

The word layout is self-tested when the watch starts; where the test fails
(another Python), the watch compares every container precisely instead:
correct, slower. The check is a closure made at start-up that looks nothing
up again, so a card that patches `quiz.runner` is detected, not obeyed. What
it cannot stop is a card that rewrites the checker's own memory (ctypes, or
the snapshot reached through `gc` or frames): anything in the process can.
"""

from __future__ import annotations

import builtins
import ctypes
import gc
import os
import signal
import sys
import time
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from quiz.runner import procs

__all__ = ["Containers", "Findings", "Policy", "Setting", "StateWatch", "gather_available", "process_policy"]

WORD = 8
_MISSING = object()
MAX_DESCRIPTIONS = 20  # a card that changes hundreds of things gets the first ones named
SETTLE_S = 0.05  # how long to wait for threads a card started to end on their own
KILL_S = 0.5  # how long to spend killing the processes a card left (then the whole worker goes)
MODULE = types.ModuleType
FUNCTION = types.FunctionType
DICT_SUBCLASS = 1 << 29  # Py_TPFLAGS_DICT_SUBCLASS: dict, OrderedDict, defaultdict...
HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python
FDS = "/proc/self/fd"
# Keys Python itself adds to namespaces as code runs, put back after each card: the registry of
# warnings already shown from a module.
PUT_BACK = frozenset({"__warningregistry__"})
# Entries whose objects describe code rather than run it, left out of the watch (they are a third of
# TensorFlow's): how a module was imported (read again only by a reload), annotations and namedtuple
# defaults (read when a class is made, not when it is used). Their owners' namespaces are watched,
# so replacing one is still seen; only what is inside them is not.
METADATA = frozenset({"__spec__", "__loader__", "__annotations__", "_field_defaults"})


@dataclass(frozen=True, slots=True)
class Setting:
    """One piece of global state read through a function (torch's grad mode, numpy's error state...).

    `read` returns something comparable with `==` (a bool, a tuple of plain
    values). `restore(value)` puts back a value `read` returned; None means
    only a fresh worker can undo a change.
    """

    label: str  # in the learner's words: "torch grad mode", "numpy error state"
    read: Callable[[], Any]
    restore: Callable[[Any], object] | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """What a backend (or the process) knows about its state.

    Labels name containers as the watch finds them: a module by its name
    (`torch`), anything else by the path it was found at
    (`torch._tensor_str.PRINT_OPTS`, `warnings.filters`, `keras.src.backend.config._FLOATX`:
    a key of a namespace).
    """

    settings: tuple[Setting, ...] = ()
    # container or namespace key → the learner's words; a change is reported and put back
    known: Mapping[str, str] = field(default_factory=dict)
    # containers and namespace keys put back silently: caches that fill up as cards run
    caches: frozenset[str] = frozenset()
    # (namespace, key) the worker's own per-card reset replaces (a fresh Keras session)
    churn: frozenset[tuple[str, str]] = frozenset()
    # run after a known container was put back (warnings keep a C-level version of their filters)
    after_restore: Mapping[str, Callable[[], None]] = field(default_factory=dict)
    # name prefixes of modules a framework makes for one card's code (AutoGraph's generated files):
    # taken out of sys.modules after the card, not counted as imports
    scratch_modules: tuple[str, ...] = ()

    def __or__(self, other: Policy) -> Policy:
        return Policy(
            settings=self.settings + other.settings,
            known={**self.known, **other.known},
            caches=self.caches | other.caches,
            churn=self.churn | other.churn,
            after_restore={**self.after_restore, **other.after_restore},
            scratch_modules=self.scratch_modules + other.scratch_modules,
        )


@dataclass(frozen=True, slots=True)
class Findings:
    """What one card left behind."""

    changed: tuple[str, ...] = ()  # "leaves torch print options changed", ...
    recycle: str | None = None  # why the worker must not run another card; None: all was put back
    killed_processes: int = 0  # processes the card left running, killed


# --- where a card's changes can hide -------------------------------------------------------


@dataclass(slots=True)
class Containers:
    """The dicts, lists and sets to watch, each with the name a learner would use for it."""

    dicts: list[dict[Any, Any]] = field(default_factory=list)
    dict_labels: list[str] = field(default_factory=list)
    lists: list[list[Any]] = field(default_factory=list)
    list_labels: list[str] = field(default_factory=list)
    sets: list[set[Any]] = field(default_factory=list)
    set_labels: list[str] = field(default_factory=list)
    namespaces: set[int] = field(default_factory=set)  # dicts that are a module's or a class's namespace
    _seen: set[int] = field(default_factory=set)

    def add_dict(self, d: dict[Any, Any], label: str) -> bool:
        if id(d) in self._seen:
            return False
        self._seen.add(id(d))
        self.dicts.append(d)
        self.dict_labels.append(label)
        return True

    def add_value(self, value: Any, label: str) -> None:
        """A list, set or dict held directly by a namespace (a registry, a cache, a table)."""
        t = type(value)
        if t is list or t is set:
            if id(value) in self._seen:
                return
            self._seen.add(id(value))
            if t is list:
                self.lists.append(value)
                self.list_labels.append(label)
            else:
                self.sets.append(value)
                self.set_labels.append(label)
        elif t.__flags__ & DICT_SUBCLASS:
            self.add_dict(value, label)

    @classmethod
    def of_modules(cls, modules: Iterable[tuple[str, Any]]) -> Containers:
        """Every module's namespace, the classes, functions and objects in it, and what they hold directly."""
        found = cls()
        classes: list[tuple[type, str]] = []
        objects: list[tuple[Any, str]] = []
        namespaces: list[tuple[str, dict[str, Any]]] = []
        for name, module in modules:  # every module's namespace first, named after its module
            ns = _instance_dict(module)
            if ns is not None and found.add_dict(ns, name):
                found.namespaces.add(len(found.dicts) - 1)
                namespaces.append((name, ns))
        class_labels: dict[int, str] = {}  # the first home found (see _home), else the first place
        homed: set[int] = set()
        for name, ns in namespaces:
            for key, value in list(ns.items()):
                if type(key) is not str:
                    continue
                t = type(value)
                if t is MODULE:
                    continue
                if key in METADATA:
                    continue
                label = f"{name}.{key}"
                if issubclass(t, type):
                    k = id(value)
                    if k not in homed and _home(value, name, key):
                        class_labels[k] = label
                        homed.add(k)
                    else:
                        class_labels.setdefault(k, label)
                    classes.append((value, label))
                elif t is FUNCTION:
                    fd = value.__dict__
                    if fd:  # most functions have none (an empty one appears on first access)
                        found.add_dict(fd, label)
                elif t is list or t is set or t.__flags__ & DICT_SUBCLASS:
                    found.add_value(value, label)
                elif (
                    t.__flags__ & HEAPTYPE and not issubclass(t, (type, MODULE)) and t.__module__ != "typing"
                ):
                    objects.append((value, label))  # a settings object, a registry, a thread-local
        for klass, _ in classes:
            label = class_labels[id(klass)]
            ns = _class_dict(klass)
            if ns is None or not found.add_dict(ns, label):
                continue
            found.namespaces.add(len(found.dicts) - 1)
            for key, value in list(ns.items()):
                if type(key) is str and key not in METADATA:
                    found.add_value(value, f"{label}.{key}")
        for obj, label in objects:
            ns = _instance_dict(obj)
            if ns is None or not found.add_dict(ns, label):
                continue
            for key, value in list(ns.items()):
                if type(key) is str and key not in METADATA:
                    found.add_value(value, f"{label}.{key}")
        return found


def _home(klass: type, module: str, key: str) -> bool:
    """Whether `module.key` is where a learner finds the class: under its own name, in its own module
    or a package above it (`mxnet.ndarray.NDArray`, not `mxnet.autograd.NDArray`)."""
    try:
        own = type.__dict__["__module__"].__get__(klass)
        name = type.__dict__["__name__"].__get__(klass)
    except Exception:
        return False
    return key == name and isinstance(own, str) and (own == module or own.startswith(module + "."))


def _instance_dict(obj: Any) -> dict[str, Any] | None:
    """`obj.__dict__` without running the object's own `__getattr__` (a lazy loader would import)."""
    try:
        d = object.__getattribute__(obj, "__dict__")
    except Exception:
        return None
    return d if type(d) is dict else None


def _class_dict(klass: type) -> dict[str, Any] | None:
    """The real dict behind a class's read-only mappingproxy."""
    try:
        proxy = type.__dict__["__dict__"].__get__(klass)
        refs = gc.get_referents(proxy)
    except Exception:
        return None
    return refs[0] if len(refs) == 1 and type(refs[0]) is dict else None


def modules_in_order() -> list[tuple[str, Any]]:
    """Loaded modules, public names first: a class reached as `torch.Tensor` is named so, not `torch._tensor.Tensor`."""
    entries = [(n, m) for n, m in list(sys.modules.items()) if type(n) is str and isinstance(m, MODULE)]
    entries.sort(key=lambda e: (sum(p.startswith("_") for p in e[0].split(".")), e[0].count("."), e[0]))
    return entries


# --- reading machine words ------------------------------------------------------------------


def _word(addr: int) -> int:
    return int(ctypes.c_uint64.from_address(addr).value)


def gather_available() -> bool:
    """Whether this CPython's object layout is the one the word gather reads (tested on live objects)."""
    if sys.implementation.name != "cpython" or sys.version_info[:2] not in ((3, 11), (3, 12)):
        return False
    if ctypes.sizeof(ctypes.c_void_p) != WORD:
        return False
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    try:
        return _self_test()
    except Exception:
        return False


def _self_test() -> bool:
    """Change probe containers: the words the watch reads must change with them, and only then."""
    d: dict[str, Any] = {"a": 1}
    before = _word(id(d) + 24)
    _ = d["a"]
    if _word(id(d) + 24) != before:
        return False
    d["b"] = 2
    if _word(id(d) + 24) == before:
        return False

    class Probe:
        pass

    p = Probe()
    p.x = 1  # type: ignore[attr-defined]
    pd = _instance_dict(p)
    cd = _class_dict(Probe)
    if pd is None or cd is None:
        return False
    before = _word(id(pd) + 24)
    p.x = 2  # type: ignore[attr-defined]
    if _word(id(pd) + 24) == before:
        return False
    before = _word(id(cd) + 24)
    Probe.y = 1  # type: ignore[attr-defined]
    if _word(id(cd) + 24) == before:
        return False
    lst = [object(), object(), object()]
    items = _word(id(lst) + 24)
    if _word(id(lst) + 16) != 3 or [_word(items + WORD * i) for i in range(3)] != [id(x) for x in lst]:
        return False
    s = {"p", "q", "r"}
    table, mask = _word(id(s) + 40), _word(id(s) + 32)
    keys = {_word(table + 2 * WORD * i) for i in range(mask + 1)}
    return _word(id(s) + 24) == 3 and {id(x) for x in s} <= keys


class _Gather:
    """Machine words at fixed addresses, read together by one numpy fancy index.

    The objects at those addresses are kept alive by the watch's snapshot, so
    the addresses stay theirs.
    """

    def __init__(self, addresses: Sequence[int]) -> None:
        import numpy as np

        arr = np.asarray(addresses, dtype=np.uint64)
        if not len(arr):
            self.mem = np.zeros(1, dtype=np.uint64)
            self.idx = self.order = np.zeros(0, dtype=np.intp)
            return
        # Read in address order (neighbouring objects share pages and cache lines); `order` maps
        # the words back to the order they were given in.
        self.order = np.argsort(arr, kind="stable")
        arr = arr[self.order]
        base = int(arr[0])
        span = (int(arr[-1]) - base) // WORD + 1
        self.mem = np.ctypeslib.as_array(ctypes.cast(base, ctypes.POINTER(ctypes.c_uint64)), shape=(span,))
        self.idx = ((arr - np.uint64(base)) // np.uint64(WORD)).astype(np.intp)

    def read(self) -> Any:
        """The words, in address order (compare with an earlier `read`, map with `order`)."""
        return self.mem[self.idx]


def _item_addresses(lists: Sequence[list[Any]], sets: Sequence[set[Any]]) -> list[int]:
    """Where each list's item pointers and each set's table keys are now."""
    out: list[int] = []
    for lst in lists:
        base = _word(id(lst) + 24)
        out += [base + WORD * k for k in range(len(lst))]
    for s in sets:
        table, mask = _word(id(s) + 40), _word(id(s) + 32)
        out += [table + 2 * WORD * k for k in range(mask + 1)]
    return out


# --- the watch ----------------------------------------------------------------------------


class StateWatch:
    """The warm worker's state, and the check that runs after every card.

    Build it once the worker is warm, then call `check()` after each card.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        containers: Containers | None = None,
        workdir: str | None = None,
        use_gather: bool | None = None,
    ) -> None:
        self.containers = containers if containers is not None else Containers.of_modules(modules_in_order())
        self.gathered = gather_available() if use_gather is None else use_gather
        # The check as the worker calls it: a closure made now, returning (changed, recycle, killed).
        self.checker: Callable[[], RawFindings] = _make_check(
            policy, self.containers, workdir=workdir, use_gather=self.gathered
        )
        self.size = {
            "dicts": len(self.containers.dicts),
            "lists": len(self.containers.lists),
            "sets": len(self.containers.sets),
            "settings": len(policy.settings),
        }

    def check(self) -> Findings:
        """Compare the state with the snapshot (see the module docstring), put back what is known."""
        return Findings(*self.checker())


RawFindings = tuple[tuple[str, ...], str | None, int]  # Findings' fields, in order


def _make_check(
    policy: Policy, containers: Containers, *, workdir: str | None, use_gather: bool
) -> Callable[[], RawFindings]:
    """Take the snapshot and return the check. Everything the check uses is bound here, as a local:
    a card that replaces `os.listdir`, `gc.collect` or a helper of this module changes a namespace
    the check watches, and the check still calls the originals."""
    listdir, getcwd, chdir, isdir = os.listdir, os.getcwd, os.chdir, os.path.isdir
    collect, freeze, perf_counter, sleep = gc.collect, gc.freeze, time.perf_counter, time.sleep
    waitpid, no_hang, kill_descendants, me = os.waitpid, os.WNOHANG, procs.kill_descendants, os.getpid()
    descendants, signal_all, sigkill = procs.descendants, procs.signal_all, signal.SIGKILL
    gettrace, settrace, getprofile, setprofile = sys.gettrace, sys.settrace, sys.getprofile, sys.setprofile
    len_, type_, str_, id_, sorted_, frozenset_, zip_ = len, type, str, id, sorted, frozenset, zip
    dict_items = dict.items  # a dict subclass's own items() is not called
    # Builtins, by the names the code below uses: `builtins.set = ...` in a card must not blind it.
    any_, bool_, dict_, enumerate_, isinstance_, set_, range_, tuple_ = (
        builtins.any,
        builtins.bool,
        builtins.dict,
        builtins.enumerate,
        builtins.isinstance,
        builtins.set,
        builtins.range,
        builtins.tuple,
    )
    Exception_, OSError_, ChildProcessError_ = (
        builtins.Exception,
        builtins.OSError,
        builtins.ChildProcessError,
    )
    same, name_of, diff, explained, restore_keys = _same, _name, _diff, _explained_by_import, _restore_keys
    qualified, seq_same, dict_same, restore_environ = _qualified, _seq_same, _dict_same, _restore_environ
    is_cache, lazy_annotations, lazy_loaded, refill = _is_cache, _lazy_annotations, _lazy_loaded, _refill
    missing, module_type, function_type, put_back_keys = _MISSING, MODULE, FUNCTION, PUT_BACK

    dicts, dict_labels, namespaces = (
        containers.dicts,
        containers.dict_labels,
        frozenset(containers.namespaces),
    )
    lists, list_labels = containers.lists, containers.list_labels
    sets, set_labels = containers.sets, containers.set_labels
    nd, nl = len(dicts), len(lists)
    known, caches, after_restore = dict_(policy.known), set_(policy.caches), dict_(policy.after_restore)
    scratch_modules = tuple_(policy.scratch_modules)
    churn: dict[str, frozenset[str]] = {}
    for owner, key in policy.churn:
        churn[owner] = churn.get(owner, frozenset()) | {key}
    modules_at = next((i for i, label in enumerate_(dict_labels) if label == "sys.modules"), None)
    environ_data = getattr(os.environ, "_data", None)
    environ_at = next((i for i, d in enumerate_(dicts) if d is environ_data), None)
    module_namespaces = frozenset(
        id(d)
        for i, d in enumerate_(dicts)
        if i in containers.namespaces and type(sys.modules.get(dict_labels[i])) is MODULE
    )
    # Namespaces the check's own code reads (the worker's modules and classes, builtins): a change
    # there is never benign, and is decided on before any of that code runs, by identity alone
    # (`own_unchanged`: a name put back as it was is no change, as without the gather).
    own = frozenset(
        i for i, label in enumerate_(dict_labels) if label.startswith("quiz.runner") or label == "builtins"
    )

    # --- the snapshot ---------------------------------------------------------------------
    settings: list[Setting] = []
    setting_snaps: list[Any] = []
    for s in policy.settings:
        try:
            setting_snaps.append(s.read())
        except Exception_:
            continue  # not in this version of the framework: nothing to watch
        settings.append(s)
    dict_snaps = [dict_(d) for d in dicts]
    list_snaps = [list(lst) for lst in lists]
    set_snaps = [set_(s) for s in sets]
    have_proc = isdir("/proc/self/task")
    threads0 = len_(listdir("/proc/self/task")) if have_proc else 0
    fds0 = frozenset_(listdir(FDS)) if have_proc else frozenset_()
    # Processes already below this one (none in a worker: the watch starts before any card).
    kept = frozenset_(descendants(me)) if have_proc else frozenset_()
    cwd0 = workdir or getcwd()
    c_environ = _c_environ()
    env0 = c_environ() if c_environ else None

    # Audit tripwires, for what no snapshot holds: a function's code swapped, an audit hook added,
    # the C environment changed behind os.environ.
    events: list[tuple[str, Any]] = []
    watched_events = frozenset(
        ("object.__setattr__", "object.__delattr__", "sys.addaudithook", "os.putenv", "os.unsetenv")
    )
    append = events.append

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in watched_events:
            append((event, args))

    sys.addaudithook(hook)

    gather: dict[str, Any] = {}
    if use_gather:
        import numpy as np

        # Heads: a dict's version tag; a list's length and item array; a set's fill, used and
        # table (a resize makes a new table). Numbered dicts first, then lists, then sets.
        addresses = [id(d) + 24 for d in dicts]
        owners = list(range_(nd))
        for i, lst in enumerate_(lists):
            addresses += [id(lst) + 16, id(lst) + 24]
            owners += [nd + i] * 2
        for i, st in enumerate_(sets):
            addresses += [id(st) + 16, id(st) + 24, id(st) + 40]
            owners += [nd + nl + i] * 3
        heads = _Gather(addresses)
        items = _Gather(_item_addresses(lists, sets))
        # The arrays themselves, not the _Gather objects: indexing an ndarray is C, a method of a class
        # of this module is something a card can replace.
        gather["heads"], gather["heads_at"] = heads.mem, heads.idx
        gather["items"], gather["items_at"] = items.mem, items.idx
        gather["owner"] = np.asarray(owners, dtype=np.intp)[heads.order]
        gather["heads0"] = gather["last"] = heads.mem[heads.idx]
        gather["items0"] = items.mem[items.idx]

    def precise(indices: Iterable[int], now: Sequence[Any], snaps: Sequence[Any]) -> list[int]:
        return [i for i in indices if not seq_same(now[i], snaps[i])]

    def moved() -> tuple[list[int], list[int], list[int]]:
        """The dicts, lists and sets that changed since the snapshot (C-level reads only)."""
        if not gather:
            return (
                # The worker's own namespaces through locals alone: `_dict_same` reads `_diff` from a
                # namespace a card can patch.
                [
                    i
                    for i in range_(nd)
                    if not (own_unchanged(i) if i in own else dict_same(dicts[i], dict_snaps[i]))
                ],
                precise(range_(nl), lists, list_snaps),
                precise(range_(len_(sets)), sets, set_snaps),
            )
        heads = gather["heads"][gather["heads_at"]]
        gather["last"] = heads
        flat = set_(gather["owner"][(heads != gather["heads0"]).nonzero()[0]].tolist())
        dd = sorted_(i for i in flat if i < nd)
        items = gather["items"][gather["items_at"]]
        if any_(i >= nd for i in flat) or bool_((items != gather["items0"]).any()):
            # A list or set changed (or was resized, so its items moved): compare them precisely.
            return dd, precise(range_(nl), lists, list_snaps), precise(range_(len_(sets)), sets, set_snaps)
        return dd, [], []

    def resnap(lists_changed: bool) -> None:
        """Everything is as in the snapshot again (or was put back, then looked at once more): the words
        read last are the ones to compare the next card with."""
        if gather:
            if lists_changed:
                items = _Gather(_item_addresses(lists, sets))
                gather["items"], gather["items_at"] = items.mem, items.idx
                gather["items0"] = items.mem[items.idx]
            gather["heads0"] = gather["last"]

    def settle_dict(i: int, say: Callable[[str], None], recycle: list[str], imported: bool) -> bool:
        """Compare one moved dict with its snapshot: put back what may be put back, report the rest.

        Returns whether anything had to be put back or reported."""
        d, snap, label = dicts[i], dict_snaps[i], dict_labels[i]
        added, removed = diff(d, snap)
        if not added and not removed:
            return False  # touched and put back (the worker's own stdout swap, a setting restored)
        if i == environ_at:
            for key in [*added, *removed]:
                say(f"leaves the environment variable {name_of(key)} changed")
            restore_environ(snap)
            return True
        if label in caches or (i not in namespaces and is_cache(label.rpartition(".")[2])):
            refill(d, snap)
            return True
        if label in known:
            say(f"leaves {known[label]} changed")
            refill(d, snap)
            if label in after_restore:
                after_restore[label]()
            return True
        skip = churn.get(label, frozenset_())
        touched = False
        mine: list[tuple[Any, str]] = []
        for key in [*added, *removed]:
            if type_(key) is str_:
                if key in skip:
                    continue
                full = f"{label}.{key}"
                old, new = snap.get(key, missing), d.get(key, missing)
                if key in put_back_keys or full in caches or is_cache(key) or lazy_annotations(key, old, new):
                    restore_keys(d, snap, [key], [])
                    touched = True
                    continue
                if lazy_loaded(key, old, new, d):
                    snap[key] = new  # a lazy loader that loaded its module: the state to keep from now on
                    continue
                if full in known:
                    say(f"leaves {known[full]} changed")
                    restore_keys(d, snap, [key], [])
                    if full in after_restore:
                        after_restore[full]()
                    touched = True
                    continue
                if imported and explained(old, new, new_modules):
                    continue
            mine.append((key, "deleted" if any_(key is r for r in removed) else "changed"))
        for key, how in mine:
            say(f"leaves {label}.{name_of(key)} {how}")
        if mine:
            recycle.append(f"the card changed {label}")
        return touched or bool_(mine)

    def settle_list(i: int, say: Callable[[str], None], recycle: list[str]) -> None:
        label = list_labels[i]
        if label in caches or label in known or is_cache(label.rpartition(".")[2]):
            if label in known:
                say(f"leaves {known[label]} changed")
            lists[i][:] = list_snaps[i]
            if label in after_restore:
                after_restore[label]()
            return
        say(f"leaves the contents of {label} changed")
        recycle.append(f"the card changed {label}")

    def settle_set(i: int, say: Callable[[str], None], recycle: list[str]) -> None:
        label = set_labels[i]
        if label in caches or is_cache(label.rpartition(".")[2]):
            sets[i].clear()
            sets[i].update(set_snaps[i])
            return
        say(f"leaves the contents of {label} changed")
        recycle.append(f"the card changed {label}")

    def own_unchanged(i: int) -> bool:
        """Whether one of the worker's own namespaces, which moved, holds exactly what it held (every key
        bound to the same object, in the same order): a name swapped for a moment and swapped back,
        as torch.export does with `builtins.max` and `min`. Identity only, through locals bound above:
        nothing a card could have replaced or defined (a key's `__eq__`, a patched `zip`) runs here."""
        d, snap = dicts[i], dict_snaps[i]
        if len_(d) != len_(snap):
            return False
        for (k1, v1), (k2, v2) in zip_(dict_items(d), dict_items(snap)):
            if k1 is not k2 or v1 is not v2:
                return False
        return True

    new_modules: set[int] = set_()

    def check() -> RawFindings:
        changed: list[str] = []
        recycle: list[str] = []

        def say(text: str) -> None:
            if text not in changed and len_(changed) < MAX_DESCRIPTIONS:
                changed.append(text)

        # 0. A trace or profile function would run inside this check: off first. Then the card's
        # garbage goes, with its finalizers and weakref callbacks, so that what they change is this
        # card's. (What survived earlier checks is frozen: a collection walks one card's objects.)
        if gettrace() is not None:
            settrace(None)
            say("leaves a trace function set")
        if getprofile() is not None:
            setprofile(None)
            say("leaves a profile function set")
        collect()
        settrace(None)
        setprofile(None)

        # 1. Namespaces, registries and caches: which moved (before any framework code runs).
        dd, ll, ss = moved()
        if any_(i in own and not own_unchanged(i) for i in dd):
            recycle.append("the card changed the worker's own code or builtins")

        # 2. Settings held in C: compare, put back.
        for k, s in enumerate_(settings):
            before = setting_snaps[k]
            try:
                now = s.read()
            except Exception_:
                now = missing
            if same(now, before):
                continue
            say(f"leaves {s.label} changed")
            if s.restore is None:
                recycle.append(f"{s.label} cannot be put back")
                continue
            try:
                s.restore(before)
                ok = same(s.read(), before)
            except Exception_:
                ok = False
            if not ok:
                recycle.append(f"{s.label} could not be put back")

        # 3. Processes the card left (orphans come back to the worker, a child subreaper): killed.
        killed = 0
        if kept:
            # Processes that were there before the snapshot (a test's own workers, when the watch runs
            # in-process) are no card's: only the others are killed, each reaped by its own pid, so
            # no exit status of a kept child is taken from its owner.
            strays = [p for p in descendants(me) if p not in kept]
            if strays:
                signal_all(strays, sigkill)
                for p in strays:
                    try:
                        waitpid(p, 0)
                    except ChildProcessError_:
                        pass  # a grandchild: its own parent, or we once it is orphaned, reaps it
                killed = len_(strays)
                say("leaves a process running" if killed == 1 else f"leaves {killed} processes running")
                if any_(p not in kept for p in descendants(me)):
                    recycle.append("the card left processes that did not stop in time")
        else:
            try:
                waitpid(-1, no_hang)
            except ChildProcessError_:
                pass  # no child processes at all: the usual case, one syscall
            else:
                killed = kill_descendants(me, timeout=KILL_S)
                if killed:
                    say("leaves a process running" if killed == 1 else f"leaves {killed} processes running")
                try:
                    waitpid(-1, no_hang)
                except ChildProcessError_:
                    pass
                else:  # some would not die in time: the app kills the whole worker tree
                    recycle.append("the card left processes that did not stop in time")

        # 4. Threads the card left (OS threads: `_thread` ones too), waiting a moment for any ending.
        if have_proc:
            started = perf_counter()
            extra = len_(listdir("/proc/self/task")) - threads0
            while extra > 0 and perf_counter() - started < SETTLE_S:
                sleep(0.002)
                extra = len_(listdir("/proc/self/task")) - threads0
            if extra > 0:
                say("leaves a thread running" if extra == 1 else f"leaves {extra} threads running")
                recycle.append("the card left threads running")
            elif extra < 0:
                say("stops a thread the framework uses")
                recycle.append("a framework thread is gone")

        # 5. The working directory.
        try:
            cwd: str | None = getcwd()
        except OSError_:
            cwd = None
        if cwd != cwd0:
            say("leaves the working directory changed")
            try:
                chdir(cwd0)
            except OSError_:
                recycle.append("the card removed its working directory")

        # 6. What moved, precisely: imports first (they explain some changes), then the rest.
        imported: list[str] = []
        new_modules.clear()
        if modules_at is not None and modules_at in dd:
            mods, snap = dicts[modules_at], dict_snaps[modules_at]
            added, removed = diff(mods, snap)
            for key in added:
                value = mods.get(key) if type_(key) is str_ else None
                if type_(key) is str_ and key not in snap and key.startswith(scratch_modules):
                    del mods[key]
                    continue
                if type_(key) is str_ and key not in snap and isinstance_(value, module_type):
                    imported.append(key)
                    new_modules.add(id_(value))
                else:
                    say(f"leaves sys.modules[{name_of(key)!r}] changed")
                    recycle.append("the card changed sys.modules")
            for key in removed:
                say(f"leaves sys.modules[{name_of(key)!r}] removed")
                recycle.append("the card removed a loaded module")
        put_back = False
        for i in dd:
            if i != modules_at:
                put_back = settle_dict(i, say, recycle, bool_(imported)) or put_back
        for i in ll:
            settle_list(i, say, recycle)
        for i in ss:
            settle_set(i, say, recycle)
        containers_put_back = bool_(ll or ss)  # their items may have moved: gathered afresh below
        put_back = put_back or containers_put_back or len_(changed) > 0
        if imported:
            names = sorted_(imported)
            recycle.append(
                "the card imported modules the worker had not loaded ("
                + ", ".join(names[:5])
                + (", …" if len_(names) > 5 else "")
                + ")"
            )

        # 7. File descriptors, and the C environment (os.putenv bypasses os.environ).
        if have_proc:
            fds = frozenset_(listdir(FDS))
            if fds - fds0:
                say("leaves a file open")
                recycle.append("the card left files open")
            if fds0 - fds:
                say("closes a file the worker uses")
                recycle.append("the card closed the worker's files")
        putenv = False
        for event, args in events:
            if event in ("os.putenv", "os.unsetenv"):
                putenv = True
            elif event == "sys.addaudithook":
                say("leaves an audit hook installed")
                recycle.append("the card added an audit hook")
            elif args and type_(args[0]) is function_type and id_(args[0].__globals__) in module_namespaces:
                # object.__setattr__ / __delattr__ on a function of a module loaded before the snapshot
                # (`F.relu.__code__ = ...`), not one the card (or a namedtuple it made) just defined
                what = f"{qualified(args[0])}.{args[1] if len_(args) > 1 and type_(args[1]) is str_ else '?'}"
                say(f"leaves {what} changed")
                recycle.append(f"the card changed {what}")
        del events[:]
        if putenv and c_environ is not None and env0 != c_environ():
            say("leaves the environment changed")
            recycle.append("the card changed the C environment")

        # 8. Putting things back dropped what the card had stored there, which may have run its code
        # (a __del__): look once more, and trust nothing that moved since.
        if put_back and not recycle:
            collect()
            dd, ll, ss = moved()
            again: list[str] = []
            for i in dd:
                if i == modules_at:
                    if any_(diff(dicts[i], dict_snaps[i])):
                        again.append("sys.modules")
                elif settle_dict(i, lambda _text: None, again, False):
                    again.append("moved")
            if again or ll or ss:
                recycle.append("state changed again while the worker put it back")

        if not recycle:
            resnap(containers_put_back)
            freeze()  # what survived this card is walked by no later collection
        # A plain tuple: the worker reads it by position, through no class a card could have patched.
        return tuple_(changed), "; ".join(dict_.fromkeys(recycle)) or None, killed

    return check


# --- comparing by identity ------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _name(key: Any) -> str:
    if type(key) is str:
        return key if key.isidentifier() else repr(key)[:60]
    if type(key) is bytes:  # os.environ's keys
        return key.decode("utf-8", "replace")[:60]
    return "an entry"


def _diff(now: dict[Any, Any], snap: dict[Any, Any]) -> tuple[list[Any], list[Any]]:
    """Keys added or rebound, and keys removed, comparing keys and values by identity.

    Identity, not equality: no `__eq__` or `__hash__` of a card's objects runs here.
    """
    if len(now) == len(snap):  # the usual case: the same keys, in the same order, some rebound
        rebound: list[Any] = []
        for (k1, v1), (k2, v2) in zip(list(now.items()), snap.items(), strict=True):
            if k1 is not k2:
                break
            if v1 is not v2:
                rebound.append(k1)
        else:
            return rebound, []
    snap_keys = {id(k): k for k in snap}
    added: list[Any] = []
    seen: set[int] = set()
    for k, v in list(now.items()):
        kid = id(k)
        if kid in snap_keys:
            seen.add(kid)
            if snap[k] is not v:
                added.append(k)
        else:
            added.append(k)
    removed = [k for kid, k in snap_keys.items() if kid not in seen]
    return added, removed


def _dict_same(now: dict[Any, Any], snap: dict[Any, Any]) -> bool:
    if len(now) == len(snap) and all(
        k1 is k2 and v1 is v2 for (k1, v1), (k2, v2) in zip(now.items(), snap.items(), strict=True)
    ):
        return True
    added, removed = _diff(now, snap)
    return not added and not removed


def _seq_same(now: Any, snap: Any) -> bool:
    a, b = list(now), list(snap)
    if len(a) != len(b):
        return False
    if type(now) is set:
        return {id(x) for x in a} == {id(x) for x in b}
    return all(x is y for x, y in zip(a, b, strict=True))


def _refill(d: dict[Any, Any], snap: dict[Any, Any]) -> None:
    """Put a whole dict back as the snapshot had it, in place (its readers hold this dict), without
    hashing or comparing a single key the card put there."""
    d.clear()
    d.update(snap)


def _restore_keys(
    d: dict[Any, Any], snap: dict[Any, Any], added: Iterable[Any], removed: Iterable[Any]
) -> None:
    """Put keys back as the snapshot had them (by identity: a key the snapshot had is its own object)."""
    snap_ids = {id(k) for k in snap}
    for key in added:
        if id(key) in snap_ids:
            d[key] = snap[key]
        elif type(key) is str and key in snap:
            d[key] = snap[key]  # deleted and set again: an equal name, another object
        else:
            d.pop(key, None)
    for key in removed:
        d[key] = snap[key]


def _restore_environ(snap: dict[bytes, bytes]) -> None:
    """Put os.environ, and the C environment under it, back as it was."""
    data: dict[bytes, bytes] = os.environ._data  # type: ignore[attr-defined]
    for key in list(data):
        if type(key) is bytes and key not in snap:
            os.unsetenv(key)
    for key, value in snap.items():
        if data.get(key) is not value:
            os.putenv(key, value)
    _refill(data, snap)


_C_FUNCTION: type = getattr(ctypes, "_CFuncPtr", type(None))  # what a ctypes library returns for a C function


def _is_cache(name: str) -> bool:
    """A container (or namespace entry) named as a cache (`re._cache`, `_DEVICE_CACHE`, `linecache.cache`).

    What a cache holds is put back silently after each card: put back, nothing a card stored there
    reaches a later card, and what the frameworks store there as cards run is no card's doing.
    """
    return "cache" in name.lower()


def _lazy_annotations(key: str, old: Any, new: Any) -> bool:
    """`cls.__annotations__` read on a class without annotations: Python stores an empty dict there."""
    return key == "__annotations__" and old is _MISSING and type(new) is dict and not new


def _lazy_loaded(key: str, old: Any, new: Any, namespace: dict[str, Any]) -> bool:
    """Something computed on first use and kept where it was asked for, the same for every card:
    a lazy loader replaced by the module it loads (`tf.keras`), an object that named a module and
    now holds it (Keras' `LazyModule`), a C function a ctypes library looked up (`_LIB.MXNDArrayAt`),
    the slot names `copy` and `pickle` note on a class."""
    if old is _MISSING and key == "__slotnames__" and type(new) is list:
        return all(type(n) is str for n in new)
    if old is _MISSING and isinstance(new, _C_FUNCTION) and getattr(new, "__name__", None) == key:
        return True
    if type(new) is not MODULE:
        return False
    name = _instance_dict(new)
    module_name = name.get("__name__") if name else None
    if type(module_name) is not str:
        return False
    if old is not _MISSING and type(old) is not MODULE and issubclass(type(old), MODULE):
        loader = _instance_dict(old)
        return loader is not None and loader.get("__name__") == module_name
    if old is _MISSING:
        return any(v == module_name for v in namespace.values() if type(v) is str)
    return False


def _explained_by_import(old: Any, new: Any, new_modules: set[int]) -> bool:
    """A change an import makes: a submodule set on its package, a lazy loader replaced by the module,
    or an entry added to a registry that the new module filled."""
    if id(new) in new_modules or old is _MISSING:
        return True
    return issubclass(type(old), MODULE) and issubclass(type(new), MODULE)


def _qualified(fn: types.FunctionType) -> str:
    module, qualname = fn.__globals__.get("__name__"), fn.__qualname__
    return f"{module}.{qualname}" if type(module) is str and type(qualname) is str else "a function"


def _c_environ() -> Callable[[], frozenset[bytes]] | None:
    """A reader of the C library's `environ` (what os.putenv changes, and what C code reads)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        environ = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
    except (OSError, ValueError, AttributeError):
        return None

    def read() -> frozenset[bytes]:
        out = []
        i = 0
        while (entry := environ[i]) is not None:
            out.append(entry)
            i += 1
        return frozenset(out)

    return read


# --- the process's own state ----------------------------------------------------------------


def process_policy() -> Policy:
    """Interpreter and process state every worker has, whatever its framework."""

    settings: list[Setting] = [
        Setting("the recursion limit", sys.getrecursionlimit, sys.setrecursionlimit),
        Setting("the thread switch interval", sys.getswitchinterval, sys.setswitchinterval),
        Setting("the garbage collector", gc.isenabled, lambda on: gc.enable() if on else gc.disable()),
        Setting("the garbage collector's thresholds", gc.get_threshold, lambda t: gc.set_threshold(*t)),
        Setting("the umask", _read_umask, os.umask),
        Setting("the floating-point mode", _float_mode),
        Setting("the signal handlers", _signal_handlers(), _restore_signal_handlers),
        Setting("the blocked signals", _blocked_signals, _restore_blocked_signals),
        Setting("the interval timers", _timers, _restore_timers),
        Setting("the resource limits", _rlimits, _restore_rlimits),
        Setting(
            "the async generator hooks",
            lambda: tuple(sys.get_asyncgen_hooks()),
            lambda h: sys.set_asyncgen_hooks(*h),
        ),
        Setting(
            "the coroutine origin tracking",
            sys.get_coroutine_origin_tracking_depth,
            sys.set_coroutine_origin_tracking_depth,
        ),
    ]
    if hasattr(sys, "get_int_max_str_digits"):
        settings.append(
            Setting("the int string length limit", sys.get_int_max_str_digits, sys.set_int_max_str_digits)
        )
    if hasattr(sys, "getdlopenflags"):
        settings.append(Setting("the dlopen flags", sys.getdlopenflags, sys.setdlopenflags))
    if hasattr(os, "sched_getaffinity"):
        settings.append(
            Setting(
                "the CPU affinity",
                lambda: frozenset(os.sched_getaffinity(0)),
                lambda c: os.sched_setaffinity(0, c),
            )
        )
    try:
        import locale

        settings.append(
            Setting(
                "the locale",
                lambda: locale.setlocale(locale.LC_ALL),
                lambda v: locale.setlocale(locale.LC_ALL, v),
            )
        )
    except ImportError:  # pragma: no cover
        pass
    try:
        import faulthandler

        settings.append(
            Setting(
                "the fault handler",
                faulthandler.is_enabled,
                lambda on: faulthandler.enable(all_threads=True) if on else faulthandler.disable(),
            )
        )
    except ImportError:  # pragma: no cover
        pass
    return Policy(
        settings=tuple(settings),
        known={
            "warnings.filters": "warnings filters",
            "sys.path": "sys.path",
            "sys.meta_path": "the import hooks (sys.meta_path)",
            "sys.path_hooks": "the import hooks (sys.path_hooks)",
        },
        # Caches that fill up as any code runs (compiled regexes, source lines for tracebacks,
        # finders for import paths, codec lookups): put back, never blamed.
        caches=frozenset(
            {
                "linecache.cache",
                "re._cache",
                "sys.path_importer_cache",
                "encodings._cache",
                "inspect._filesbymodname",
                "inspect.modulesbyfile",
            }
        ),
        after_restore={"warnings.filters": _warnings_changed},
    )


def _warnings_changed() -> None:
    import warnings

    getattr(warnings, "_filters_mutated", lambda: None)()


def _read_umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _float_mode() -> tuple[float, ...]:
    """Results that change with the FPU's rounding mode and flush-to-zero / denormals-are-zero flags."""
    tiny, one, third = _FLOATS
    return (tiny * one, tiny * 2.0, one + tiny * 1e-300, 1.0 / third, -1.0 / third, one + 2.0**-53 * 1.5)


_FLOATS = [float("5e-324"), float("1.0"), float("3.0")]  # not constants: the compiler would fold them


def _signal_handlers() -> Callable[[], tuple[Any, ...]]:
    numbers = sorted(int(s) for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))
    getsignal = signal.getsignal

    def read() -> tuple[Any, ...]:
        out = []
        for n in numbers:
            try:
                out.append((n, getsignal(n)))
            except (ValueError, OSError):
                continue
        return tuple(out)

    return read


def _restore_signal_handlers(handlers: tuple[Any, ...]) -> None:
    for n, handler in handlers:
        if signal.getsignal(n) is not handler and handler is not None:
            signal.signal(n, handler)


def _blocked_signals() -> frozenset[int]:
    return frozenset(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))


def _restore_blocked_signals(blocked: frozenset[int]) -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


_TIMERS = tuple(getattr(signal, n) for n in ("ITIMER_VIRTUAL", "ITIMER_PROF") if hasattr(signal, n))


def _timers() -> tuple[tuple[float, float], ...]:
    # ITIMER_REAL is the worker's own card timeout, set and cleared around every card.
    return tuple(signal.getitimer(t) for t in _TIMERS)


def _restore_timers(values: tuple[tuple[float, float], ...]) -> None:
    for t, (delay, interval) in zip(_TIMERS, values, strict=True):
        signal.setitimer(t, delay, interval)


def _rlimits() -> tuple[tuple[int, int, int], ...]:
    import resource

    out = []
    for name in sorted(n for n in dir(resource) if n.startswith("RLIMIT_")):
        which = getattr(resource, name)
        try:
            out.append((which, *resource.getrlimit(which)))
        except (ValueError, OSError):
            continue
    return tuple(out)


def _restore_rlimits(values: tuple[tuple[int, int, int], ...]) -> None:
    import resource

    for which, soft, hard in values:
        if resource.getrlimit(which) != (soft, hard):
            resource.setrlimit(which, (soft, hard))  # fails (and the worker goes) if a hard limit was lowered
