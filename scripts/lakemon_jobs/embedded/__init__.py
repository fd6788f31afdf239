"""The embedded default's live parts: the scoring server with its logging layer, the webhook
receiver, the traffic generator, and `lakemon run-local`, which runs the whole production loop
on one machine. See docs/embedded.md."""
