"""The distribution's version, in a module of its own: submodules read it without importing the
package root (which re-exports everything), so no import circle runs through `lakemon`."""

__version__ = "0.1.0"
