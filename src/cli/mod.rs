//! The command line: argument parsing only, one file per command.
