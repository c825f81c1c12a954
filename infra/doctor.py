"""``python -m infra.doctor``: check that the emulators the stack needs are installed."""

from __future__ import annotations

import shutil
import sys

from infra.stack import sdk_root

HELP = """\
The local stack needs Java 17+ and Google's Firestore and Pub/Sub emulators from the
Google Cloud CLI. On Debian/Ubuntu (after adding Google's apt repository, see README):
    sudo apt-get install openjdk-17-jre-headless google-cloud-cli \\
        google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator
With a gcloud installed from the archive instead:
    gcloud components install cloud-firestore-emulator pubsub-emulator
Set CLOUDSDK_ROOT if the SDK lives somewhere other than the gcloud on PATH."""


def main() -> int:
    """Exit 0 when everything is present, else print what is missing and how to get it."""
    root = sdk_root()
    missing = []
    if shutil.which("java") is None:
        missing.append("java")
    if not (root / "platform/cloud-firestore-emulator/cloud_firestore_emulator").exists():
        missing.append("Firestore emulator")
    if not (root / "platform/pubsub-emulator/bin/cloud-pubsub-emulator").exists():
        missing.append("Pub/Sub emulator")
    if missing:
        sys.stderr.write(f"missing: {', '.join(missing)} (looked in {root})\n{HELP}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
