"""``python -m infra.token --user alice [--role admin]``: print a dev JWT as the last line."""

from __future__ import annotations

import argparse
import os
import sys

from infra.localenv import DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, DEV_JWT_SECRET


def main(argv: list[str] | None = None) -> int:
    """Print an HS256 token signed with the local ``JWT_SECRET`` (12 h validity)."""
    parser = argparse.ArgumentParser(prog="python -m infra.token")
    parser.add_argument("--user", required=True)
    parser.add_argument("--role", default="user")
    parser.add_argument("--ttl", type=int, default=12 * 3600, help="validity in seconds")
    args = parser.parse_args(argv)
    os.environ.setdefault("JWT_SECRET", DEV_JWT_SECRET)
    os.environ.setdefault("JWT_ISSUER", DEV_JWT_ISSUER)
    os.environ.setdefault("JWT_AUDIENCE", DEV_JWT_AUDIENCE)
    from sharecast.auth import issue_dev_token
    from sharecast.config import Settings

    token = issue_dev_token(Settings(), user_id=args.user, role=args.role, ttl_s=args.ttl)
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
