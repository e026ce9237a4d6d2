"""Training: the state, the engines that step it, the one epoch loop, fit, and quality figures."""
