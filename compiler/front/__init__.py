"""The front end: the grammar's parser, the IR it builds, the printer and literal numbers."""
