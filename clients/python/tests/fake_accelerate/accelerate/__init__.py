"""A minimal stand-in for Hugging Face Accelerate, shaped like the real one where ranktop patches it.

The barrier is a rendezvous on files in FAKE_ACCELERATE_DIR, so two plain processes can meet in it
(and a test can hold one rank inside it). With one process it returns at once, as in Accelerate.
"""

__version__ = "0.99.0"

from .accelerator import Accelerator  # noqa: E402,F401
from .state import AcceleratorState, PartialState  # noqa: E402,F401
from .utils import wait_for_everyone  # noqa: E402,F401
