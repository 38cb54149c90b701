"""The paper's Mamba models (Hugging Face transformers' Mamba), its variants, and the masking strategies."""
