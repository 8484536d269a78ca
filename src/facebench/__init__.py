"""facebench: MTCNN + FaceNet inference benchmark across frameworks and devices."""

__version__ = "0.1.0"
