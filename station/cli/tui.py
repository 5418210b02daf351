"""Opening the review station (TUI). Until the TUI lands, the demo runs headless."""
from __future__ import annotations

import argparse


def run_tui(args: argparse.Namespace) -> int:
    from .inbox import cmd_ingest, cmd_watch
    cmd_ingest(argparse.Namespace(home=args.home, files=[], as_of=None, no_evaluate=False))
    return cmd_watch(argparse.Namespace(home=args.home, poll=False, as_of=None))
