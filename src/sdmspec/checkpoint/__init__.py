"""Checkpoints: safe, lazy loading and the project's one sparsity count. torch is imported inside functions only."""
