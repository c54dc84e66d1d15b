"""Whether a widget is displayed, its containers included: the answer form, hidden with the verdict,
keeps the focus until the verdict is painted (StudyScreen.watch_phase) and takes no key meanwhile."""

from __future__ import annotations

from textual.dom import DOMNode
from textual.widget import Widget


def displayed(widget: Widget) -> bool:
    """Whether the widget and every container it is in are displayed (`display` is the node's own)."""
    node: DOMNode | None = widget
    while isinstance(node, Widget):
        if not node.display:
            return False
        node = node.parent
    return True
