"""The media bucket as an adapter: V4 signed URLs (:mod:`.signing`) and the publisher's ranged
reads of media objects (:mod:`.source`)."""
