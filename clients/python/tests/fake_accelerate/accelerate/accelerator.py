import os
import time
from contextlib import contextmanager

from .optimizer import AcceleratedOptimizer
from .state import AcceleratorState, GradientState, PartialState
from .utils import wait_for_everyone


class Accelerator:
    def __init__(self):
        self.state = AcceleratorState()
        self.gradient_state = GradientState()
        self.flag_tensor = None
        self.logged = []

    @property
    def is_main_process(self):
        return self.state.process_index == 0

    def wait_for_everyone(self):
        wait_for_everyone()

    @contextmanager
    def main_process_first(self):
        with self.state.main_process_first():
            yield

    @contextmanager
    def local_main_process_first(self):
        with self.state.local_main_process_first():
            yield

    def prepare_optimizer(self):
        return AcceleratedOptimizer(self.gradient_state)

    def reduce(self, flag):
        """Sums the flag over ranks through files, as a collective would."""
        state = PartialState()
        if state.num_processes == 1:
            return flag
        directory = os.environ["FAKE_ACCELERATE_DIR"]
        n = getattr(self, "_reductions", 0)
        self._reductions = n + 1
        path = os.path.join(directory, "reduce-%d-rank-%d" % (n, state.process_index))
        with open(path + ".tmp", "w") as f:
            f.write(str(flag))
        os.rename(path + ".tmp", path)
        total = 0
        for r in range(state.num_processes):
            other = os.path.join(directory, "reduce-%d-rank-%d" % (n, r))
            while not os.path.exists(other):
                time.sleep(0.005)
            total += int(open(other).read())
        return total

    def set_trigger(self):
        self.flag_tensor = 1

    def check_trigger(self):
        if self.flag_tensor is None:
            self.flag_tensor = 0
        if self.reduce(self.flag_tensor) >= 1:
            self.flag_tensor = 0
            return True
        return False

    def log(self, values, step=None, log_kwargs=None):
        self.logged.append((values, step))

    def save_state(self):
        """Like Accelerate's: an internal barrier the user never wrote."""
        self.wait_for_everyone()
