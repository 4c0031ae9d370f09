"""The Keras halves of the kinds, named by movierec.kinds.KINDS (trainer job processes only)."""
