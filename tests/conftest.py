"""Shared test set-up: a non-interactive matplotlib backend, nothing else at import."""
import matplotlib

matplotlib.use("Agg")
