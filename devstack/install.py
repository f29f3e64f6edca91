"""Run by ``make`` after installing requirements-dev.txt: removes impacket's example scripts from the venv.

impacket, the library of the SMB stand-in, installs some 70 example programs as
``bin/*.py`` (``smbclient.py``, ``net.py``, ``services.py``, ...). A process started
from a script in ``bin/`` (every ``airflow`` command) has that folder first on
``sys.path``, where ``smbclient.py`` would shadow the samba provider's ``smbclient``
package. The devstack uses impacket as a library only, so the examples go.
"""

from __future__ import annotations

from pathlib import Path


def drop_impacket_scripts() -> list[Path]:
    """Delete the ``bin/*.py`` files impacket's install recorded; the paths removed."""
    import importlib.metadata

    try:
        distribution = importlib.metadata.distribution("impacket")
    except importlib.metadata.PackageNotFoundError:
        return []
    removed = []
    for file in distribution.files or []:
        if file.suffix == ".py" and file.parts[0] == ".." and "bin" in file.parts:
            path = Path(distribution.locate_file(file)).resolve()
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed


if __name__ == "__main__":
    print(f"devstack: removed {len(drop_impacket_scripts())} impacket example scripts from the venv's bin/")
