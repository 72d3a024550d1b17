import os
import time
from contextlib import contextmanager


class PartialState:
    _shared_state = {}

    def __init__(self, cpu=False, **kwargs):
        self.__dict__ = self._shared_state
        if not self.__dict__:
            self.process_index = int(os.environ.get("RANK", "0"))
            self.num_processes = int(os.environ.get("WORLD_SIZE", "1"))
            self.local_process_index = int(os.environ.get("LOCAL_RANK", str(self.process_index)))
            self.barriers = 0

    @property
    def is_main_process(self):
        return self.process_index == 0

    @property
    def is_local_main_process(self):
        return self.local_process_index == 0

    def wait_for_everyone(self):
        """A file rendezvous: every rank writes its arrival and waits for the others'."""
        n = self.barriers
        self.barriers += 1
        if self.num_processes == 1:
            return
        directory = os.environ["FAKE_ACCELERATE_DIR"]
        open(os.path.join(directory, "barrier-%d-rank-%d" % (n, self.process_index)), "w").close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            arrived = [r for r in range(self.num_processes)
                       if os.path.exists(os.path.join(directory, "barrier-%d-rank-%d" % (n, r)))]
            if len(arrived) == self.num_processes:
                return
            time.sleep(0.005)
        raise RuntimeError("fake barrier %d timed out" % n)

    def _goes_first(self, is_main):
        if not is_main:
            self.wait_for_everyone()
        yield
        if is_main:
            self.wait_for_everyone()

    @contextmanager
    def main_process_first(self):
        yield from self._goes_first(self.is_main_process)

    @contextmanager
    def local_main_process_first(self):
        yield from self._goes_first(self.is_local_main_process)


class AcceleratorState:
    _shared_state = {}

    def __init__(self, **kwargs):
        self.__dict__ = self._shared_state
        if PartialState._shared_state == {}:
            PartialState(**kwargs)
        self.__dict__.update(PartialState._shared_state)

    def wait_for_everyone(self):
        PartialState().wait_for_everyone()

    @contextmanager
    def main_process_first(self):
        with PartialState().main_process_first():
            yield

    @contextmanager
    def local_main_process_first(self):
        with PartialState().local_main_process_first():
            yield


class GradientState:
    def __init__(self):
        self.sync_gradients = True
