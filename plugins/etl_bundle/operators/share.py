"""Delivering files on the network share: one operator for every DAG that publishes files for people.

Cheap to import (only ``airflow.sdk``): the share layer is imported when the task runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from etl_bundle.operators.base import BundleOperator

if TYPE_CHECKING:
    from pathlib import Path

    from etl_bundle.common.share import Share


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def deliver_file(share: Share, local: Path, folder: str, name: str | None = None, *, private: bool = False) -> str:
    """``local`` onto the share as ``folder/name``, unless that file is already there with the same content.

    ``Share.put`` writes a temporary ``.part`` name, reads the size back and renames it onto the final
    name; here the content is then read back and compared by SHA-256. A retry that finds the file it
    delivered before (same content) leaves it as it is: a delivery is never repeated, so a reader who
    opened the file meanwhile is not handed a new copy.
    """
    from etl_bundle.common.share import share_path

    name = name or local.name
    target = share_path(folder, name)
    data = local.read_bytes()
    wanted = _sha256(data)
    existing = {entry.name: entry for entry in share.list(folder)}.get(name)
    if existing is not None and not existing.is_dir and existing.size == len(data):
        if _sha256(share.read_bytes(target)) == wanted:
            return target
    written = share.put(local, folder, name, private=private)
    if _sha256(share.read_bytes(written)) != wanted:
        raise OSError(f"{share.conn_id}: {written} does not read back as the file delivered; the task retries")
    return written


class NetworkShareDeliveryOperator(BundleOperator):
    """Publish files already on the network share (an archive, a staging folder) into a delivery folder.

    Each source is copied to `folder` (stamped `{stem}_{stamp}{ext}` when `stamp` is given), written
    under a temporary `.part` name, renamed onto its final name and read back by SHA-256; a retry skips
    what an earlier try delivered with the same content, so nothing is delivered twice. Readable by
    default; `private=True` for owner-only copies. Returns the delivered paths on the share.
    Works on either kind of `network_share` connection (SMB or a mounted folder).
    """

    template_fields: Sequence[str] = ("sources", "folder", "stamp")
    ui_color: ClassVar[str] = "#e8f4e8"

    def __init__(
        self,
        *,
        sources: list[str] | str,
        folder: str,
        share_conn_id: str = "network_share",
        stamp: str | None = None,
        private: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sources = sources
        self.folder = folder
        self.share_conn_id = share_conn_id
        self.stamp = stamp
        self.private = private

    def execute(self, context: Any) -> list[str]:
        import tempfile
        from pathlib import Path, PurePosixPath

        from etl_bundle.common.share import open_share, stamped_name

        sources = [self.sources] if isinstance(self.sources, str) else list(self.sources)
        delivered = []
        with open_share(self.share_conn_id) as share, tempfile.TemporaryDirectory(prefix="share-delivery-") as tmp:
            for source in sources:
                name = PurePosixPath(source).name
                local = share.download(source, Path(tmp) / name)
                final = stamped_name(name, self.stamp) if self.stamp else name
                delivered.append(deliver_file(share, local, self.folder, final, private=self.private))
        self.log.info("delivered %d files to %s", len(delivered), self.folder)
        return delivered
