"""Tape images: AWS, HET (compressed AWS), Flex FakeTape; standard labels."""

from .deblock import deblock
from .image import Block, FileStat, TapeImage, detect_format, open_tape
from .labels import Dataset, Label, LabelledWriter, datasets

__all__ = ["Block", "FileStat", "TapeImage", "detect_format", "open_tape", "deblock",
           "Dataset", "Label", "LabelledWriter", "datasets"]
