"""Peaks to measure a model against: the dense bf16 peak of a GPU from its vendor's datasheet,
looked up by the name torch reports, and model FLOP utilisation (MFU) against a peak.

Torch-free: the name comes in as a string (`torch.cuda.get_device_name()` on the machine), so
the lookup and the arithmetic are tested without a GPU.
"""

from __future__ import annotations

import re

# Dense bf16 tensor-core peak in TFLOP/s, without 2:4 sparsity.  NVIDIA's datasheets print the
# sparse figure (marked *) beside the dense one or alone; dense = sparse / 2.
#   H100 SXM 989, H100 PCIe 756, H100 NVL 835: NVIDIA H100 Tensor Core GPU datasheet,
#     https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet
#   H200 SXM 989, H200 NVL 835: NVIDIA H200 Tensor Core GPU datasheet,
#     https://www.nvidia.com/en-us/data-center/h200/
#   A100 312 (SXM and PCIe, 40 and 80 GB alike): NVIDIA A100 Tensor Core GPU datasheet,
#     https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf
#   L40S 362, L40 181: NVIDIA L40S and L40 datasheets, https://www.nvidia.com/en-us/data-center/l40s/
#     and https://www.nvidia.com/en-us/data-center/l40/
#   L4 121: NVIDIA L4 Tensor Core GPU datasheet, https://www.nvidia.com/en-us/data-center/l4/
#   A10 125: NVIDIA A10 Tensor Core GPU datasheet, https://www.nvidia.com/en-us/data-center/products/a10-gpu/
# Each row: the words that must all appear in the device name (see `name_words`), the GPU, its
# peak.  The first matching row wins, so a variant comes before its family; a name no row
# matches (GH200, A10G, H800, an H100 of unstated form, any GPU not listed) has no peak.
DATASHEET_BF16_TFLOPS: tuple[tuple[tuple[str, ...], str, float], ...] = (
    (("H100", "PCIE"), "H100 PCIe", 756.0),
    (("H100", "NVL"), "H100 NVL", 835.0),
    (("H100", "HBM3"), "H100 SXM", 989.0),   # torch names the SXM5 board "NVIDIA H100 80GB HBM3"
    (("H100", "SXM5"), "H100 SXM", 989.0),
    (("H200", "NVL"), "H200 NVL", 835.0),
    (("H200",), "H200 SXM", 989.0),          # "NVIDIA H200"
    (("A100",), "A100", 312.0),              # "NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe", ...
    (("L40S",), "L40S", 362.0),
    (("L40",), "L40", 181.0),
    (("L4",), "L4", 121.0),
    (("A10",), "A10", 125.0),
)


def name_words(name: str) -> set[str]:
    """The words of a device name, upper case, split at spaces, hyphens and underscores:
    "NVIDIA A100-SXM4-80GB" -> {"NVIDIA", "A100", "SXM4", "80GB"}.  Whole words only, so
    "L40S" is not "L4" and "A100" is not "A10"."""
    return {w for w in re.split(r"[\s_-]+", name.upper()) if w}


def datasheet_gpu(name: str | None) -> tuple[str, float] | None:
    """(GPU, dense bf16 TFLOP/s) of the first row of `DATASHEET_BF16_TFLOPS` whose words all
    appear in the device name `name`; None for a name no row matches, and for None (no GPU)."""
    if not name:
        return None
    words = name_words(name)
    for required, gpu, tflops in DATASHEET_BF16_TFLOPS:
        if words.issuperset(required):
            return gpu, tflops
    return None


def datasheet_peak_gflops(name: str | None) -> float | None:
    """The datasheet's dense bf16 peak of the GPU named `name`, in GFLOP/s; None where unknown."""
    found = datasheet_gpu(name)
    return None if found is None else 1e3 * found[1]


def mfu(gflops: float, peak_gflops: float | None) -> float | None:
    """Model FLOP utilisation: achieved GFLOP/s over a peak in GFLOP/s; None where the peak is
    unknown (a GPU missing from the datasheet table)."""
    if gflops < 0:
        raise ValueError(f"gflops={gflops} is a throughput and must be >= 0")
    if peak_gflops is None:
        return None
    if not peak_gflops > 0:
        raise ValueError(f"peak_gflops={peak_gflops} must be > 0 (or None where the peak is unknown)")
    return gflops / peak_gflops


def with_mfu(row: dict, measured_peak_gflops: float, datasheet_peak: float | None) -> dict:
    """`row` (which holds the achieved "gflops") with its MFU against both peaks:
    "fraction_of_peak", against the measured matmul peak, and "fraction_of_datasheet_peak",
    against the datasheet's (None where the GPU is not in the table)."""
    return row | {"fraction_of_peak": mfu(row["gflops"], measured_peak_gflops),
                  "fraction_of_datasheet_peak": mfu(row["gflops"], datasheet_peak)}


def format_fraction(x: float | None) -> str:
    """A fraction as a percentage with one decimal, "n/a" for None."""
    return "n/a" if x is None else f"{x:.1%}"
