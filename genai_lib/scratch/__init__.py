"""Neural networks written out by hand in NumPy: the code of chapters 1-3.

Import from the submodules: `neuron` (chapter 1), `layers` (chapter 2),
`backprop` (chapter 3).
"""
