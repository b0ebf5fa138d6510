"""Tape images: AWS, HET (compressed AWS), Flex FakeTape; standard labels."""

from ..kinds import FileKind, file_kind
from .copy import copy_tape
from .deblock import deblock
from .image import Block, FileStat, TapeImage, detect_format, open_tape
from .labels import Dataset, Label, LabelledWriter, datasets
from .medium import TAPEMARK, TapeBlock, TapeMedium, read_next

__all__ = ["Block", "FileStat", "TapeImage", "detect_format", "open_tape", "deblock",
           "Dataset", "Label", "LabelledWriter", "datasets", "FileKind", "file_kind", "copy_tape",
           "TAPEMARK", "TapeBlock", "TapeMedium", "read_next"]
