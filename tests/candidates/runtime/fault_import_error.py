# fault: the module raises at import
import torch
import torch.nn as nn

raise ValueError("broken at import")
