"""genai_lib: the small shared package of "Generative AI from the Core".

Importing it does nothing visible: no prints, no plot settings, no I/O.
"""

__version__ = "0.1.0"
