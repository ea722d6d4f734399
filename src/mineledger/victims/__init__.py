"""Victims: their personal data, encrypted at rest with keys kept outside the store
(:mod:`.crypto`), read, corrected and erased only by those allowed, every access recorded
(:mod:`.personal`)."""
