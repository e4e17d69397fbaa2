"""``stormproof lint APP``: the preflight rules of ``core.lint`` over an app's definitions."""

from stormproof.lint.collect import lint_app, spec_of

__all__ = ["lint_app", "spec_of"]
