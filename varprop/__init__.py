"""varprop: how variance flows through deep feedforward networks (Glorot & Bengio, 2010).

Theory predicts (``varprop.symbolic``, ``varprop.theory``), simulation measures, training
tests, figures show.
"""
__version__ = "0.1.0"
