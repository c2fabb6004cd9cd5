"""Neural networks written out by hand in NumPy: the code chapters 1-3 explain.

Import from the submodules: `neuron` (chapter 1), `layers` (chapter 2), `backprop` (chapter 3).
"""
