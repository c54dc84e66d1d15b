"""Landlock, the kernel's self-imposed filesystem, network and signal walls, through its three system calls.

A process builds a ruleset (what it may still do beneath which paths),
then restricts itself; its children inherit the walls and nothing can lift
them. What is not allowed by a rule is denied for the rights the ruleset
handles, whatever the file permissions say. Each kernel ABI adds rights:
1 (Linux 5.13) files and directories, 2 renames across directories,
3 truncation, 4 TCP bind/connect, 5 device ioctls, 6 signals and abstract
unix sockets leaving the domain. A ruleset handles every right this kernel
knows, so the walls are as tight as the kernel allows.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
from dataclasses import dataclass

__all__ = ["abi_version", "LandlockError", "Ruleset", "READ", "FILE_RIGHTS"]

# Syscall numbers are the same on every architecture for these (added after the table unification).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = (
    EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
)  # what a rule on a non-directory may hold


class LandlockError(OSError):
    """The kernel refused a step (no Landlock, or a bad rule)."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc: ctypes.CDLL | None = None


def _syscall(number: int, *args: object) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    result = int(_libc.syscall(ctypes.c_long(number), *args))
    if result < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, os.strerror(err))
    return result


def abi_version() -> int:
    """The Landlock ABI this kernel offers (0: none, or disabled at boot)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except (LandlockError, OSError, AttributeError):
        return 0


def fs_rights(abi: int) -> int:
    """Every filesystem right the kernel with this ABI can deny."""
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


@dataclass
class Ruleset:
    """Rules gathered, then `restrict()`: from then on this process (and its children) live inside them."""

    abi: int

    def __post_init__(self) -> None:
        if self.abi < 1:
            raise LandlockError(0, "this kernel has no Landlock")
        self.handled_fs = fs_rights(self.abi)
        attr = _RulesetAttr(
            handled_access_fs=self.handled_fs,
            # No rule for TCP: no connection and no listening socket at all.
            handled_access_net=(NET_BIND_TCP | NET_CONNECT_TCP) if self.abi >= 4 else 0,
            scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if self.abi >= 6 else 0,
        )
        self.fd = _syscall(
            _CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0)
        )

    @property
    def blocks_tcp(self) -> bool:
        return self.abi >= 4

    @property
    def scopes_signals(self) -> bool:
        return self.abi >= 6

    def allow(self, path: str, access: int) -> bool:
        """Allow `access` beneath `path` (a file: on it alone). False when the path does not exist."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                access &= FILE_RIGHTS
            rule = _PathBeneathAttr(allowed_access=access & self.handled_fs, parent_fd=fd)
            _syscall(
                _ADD_RULE,
                ctypes.c_int(self.fd),
                ctypes.c_int(_RULE_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            )
        finally:
            os.close(fd)
        return True

    def restrict(self) -> None:
        """Enter the walls (no_new_privs first: nothing exec'd later can gain rights back)."""
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                err = ctypes.get_errno()
                raise LandlockError(err, f"no_new_privs: {os.strerror(err)}")
            _syscall(_RESTRICT_SELF, ctypes.c_int(self.fd), ctypes.c_uint32(0))
        finally:
            os.close(self.fd)
