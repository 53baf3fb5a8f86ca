"""The lifecycle (managed) node: ``ros2 run cvseq_localizer cvseq_localizer_lifecycle``.

Same behaviour as :class:`~cvseq_localizer.ros.node.LocalizerNode`, driven by the transitions
nav2's lifecycle manager sends: configure loads the model and tiles and creates the publishers,
activate subscribes and starts publishing, deactivate stops both, cleanup releases the model,
tiles and publishers. A configure that fails (missing model, bad parameters) returns FAILURE
with the reason in the log and the node stays unconfigured.
"""

from __future__ import annotations

from typing import Any

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from cvseq_localizer.ros.node import NODE_NAME, LocalizerShell, run_node
from cvseq_localizer.ros.params import ParameterError

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class LifecycleLocalizerNode(LocalizerShell, LifecycleNode):
    """The managed node (parameters are declared at construction, all else on transitions)."""

    def __init__(self, **node_kwargs: Any) -> None:
        LifecycleNode.__init__(self, NODE_NAME, **node_kwargs)
        self._shell_init()

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.configure_shell()
        except ParameterError as exc:
            self.get_logger().error(str(exc))
            return FAILURE
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.activate_shell()
        return SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.deactivate_shell()
        return SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.cleanup_shell()
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.cleanup_shell()
        return SUCCESS

    def destroy_node(self) -> None:
        self.cleanup_shell()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Console entry point ``cvseq_localizer_lifecycle``."""
    return run_node(LifecycleLocalizerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
