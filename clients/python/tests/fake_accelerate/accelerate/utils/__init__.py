from ..state import PartialState


def wait_for_everyone():
    PartialState().wait_for_everyone()
