from .state import GradientState


class AcceleratedOptimizer:
    def __init__(self, gradient_state=None):
        self.gradient_state = gradient_state or GradientState()
        self.steps = 0

    def step(self, closure=None):
        if self.gradient_state.sync_gradients:
            self.steps += 1
