"""Tape images: AWS, HET (compressed AWS), Flex FakeTape; standard labels."""

from .copy import copy_tape
from .deblock import deblock
from .detect import FileKind, file_kind
from .image import Block, FileStat, TapeImage, detect_format, open_tape
from .labels import Dataset, Label, LabelledWriter, datasets

__all__ = ["Block", "FileStat", "TapeImage", "detect_format", "open_tape", "deblock",
           "Dataset", "Label", "LabelledWriter", "datasets", "FileKind", "file_kind", "copy_tape"]
