from tests.unit.workers.face.support import face_detector, face_embedder, photo_detector, photo_embedding  # noqa: F401
