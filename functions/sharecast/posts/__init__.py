"""Posts: what a user asks for and what happens to it until its tasks are queued.

- :mod:`.plan`: validate a request and build its target records (create and edit alike);
- :mod:`.create`: store a new post atomically, then queue it;
- :mod:`.queue`: create the Cloud Tasks of targets (30-day horizon; the sweeper does the rest);
- :mod:`.edit`: PATCH, cancel, publish now, retry a failed target;
- :mod:`.read`: the caller's own post (404 for anyone else's);
- :mod:`.wait`: ``?wait=N`` on create.
"""
