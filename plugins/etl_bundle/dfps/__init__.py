"""The DFPS-DPS missing-person exchange: children in care sent to DPS per fiscal quarter."""
