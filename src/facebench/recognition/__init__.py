"""The face recognition pipeline: detect (MTCNN), crop, embed (FaceNet), identify against a
gallery."""
