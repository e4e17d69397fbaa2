"""Pure Amazon States Language interpreter: paths, intrinsics, Choice rules and states.

Everything here is a pure function of its arguments (including ``now`` and a
random source), so a durable runtime can persist the execution state as JSON
and resume it in another process.
"""
