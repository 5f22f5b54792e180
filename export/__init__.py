"""Export of trained PixInPix models (installed as `pixinpix_tf.export`).

Imports point one way: this package may import `pixinpix_tf`, never the reverse.
"""
