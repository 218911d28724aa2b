"""The ``infoflow`` command line: thin click commands that wire the library together."""
