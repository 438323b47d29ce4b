"""Descriptor checks of the CUDA IPC output path (no GPU needed): the driver
must refuse any descriptor that does not describe exactly the bytes it
claims, inside the allocation it maps."""

from __future__ import annotations

import pytest
import torch

from cudarwin.runner.ipc import MARK, IpcError, check_descriptor, check_extent, export_outputs, import_outputs

HANDLE = bytes(range(64))


def _desc(**kw):
    d = {MARK: HANDLE, "offset": 512, "nbytes": 4 * 6, "shape": [2, 3], "dtype": "float32"}
    d.update(kw)
    return d


def test_good_descriptor_accepted():
    handle, offset, nbytes, shape, dtype = check_descriptor(_desc())
    assert (handle, offset, nbytes, shape, dtype) == (HANDLE, 512, 24, (2, 3), torch.float32)
    assert check_descriptor(_desc(dtype="bfloat16", nbytes=12))[4] is torch.bfloat16


@pytest.mark.parametrize("bad, words", [
    (dict(nbytes=28), "not 28 bytes"),  # shape and dtype disagree with the size
    (dict(shape=[2, -3]), "bad shape"),
    (dict(shape="2x3"), "bad shape"),
    (dict(offset=-8), "non-negative"),
    (dict(offset=True), "non-negative"),
    (dict(nbytes=0, shape=[0]), "bytes"),
    (dict(dtype="object"), "unsupported dtype"),
    (dict(dtype=7), "unsupported dtype"),
    ({MARK: b"short"}, "64"),
    ({MARK: "not bytes"}, "not an IPC descriptor"),
])
def test_malformed_descriptor_refused(bad, words):
    with pytest.raises(IpcError, match=words):
        check_descriptor(_desc(**bad))


def test_extent_must_fit_the_mapped_allocation():
    check_extent(mapped=4096, base=4096, size=1024, offset=512, nbytes=512)  # exactly fits
    with pytest.raises(IpcError, match="reaches byte 1025"):
        check_extent(mapped=4096, base=4096, size=1024, offset=512, nbytes=513)
    with pytest.raises(IpcError):  # the mapping is not the start of its allocation
        check_extent(mapped=4096 + 64, base=4096, size=1 << 20, offset=0, nbytes=8)


def test_cpu_outputs_pass_through_unchanged():
    keep: list = []
    out = [torch.arange(3.0), (torch.ones(2), 5), "text"]
    sent = export_outputs(out, keep, lambda o: o)
    assert keep == [] and torch.equal(sent[0], out[0]) and sent[1][1] == 5 and sent[2] == "text"
    back = import_outputs(sent, torch.device("cpu"))  # no descriptors: nothing to map
    assert torch.equal(back[1][0], torch.ones(2))


def test_descriptor_fails_before_any_cuda_call():
    # a descriptor whose own fields are inconsistent never reaches the GPU: it fails on a CPU machine
    with pytest.raises(IpcError, match="bytes"):
        import_outputs([_desc(nbytes=4)], torch.device("cpu"))


def test_a_descriptor_that_fails_turns_ipc_off_and_repeats_over_the_socket():
    """The evaluator's output channel: one bad descriptor, and every later request uses the socket."""
    from cudarwin.runner.protocol import RunRequest
    from cudarwin.runner.transfer import OutputTransfer
    from cudarwin.verifier.inputs import InputRecipe
    from cudarwin.verifier.observations import RunObservation

    class Worker:
        def __init__(self):
            self.requests = []

        def request(self, request, deadline):
            self.requests.append((request, deadline))
            return RunObservation(outputs=[torch.ones(3)])

    transfer = OutputTransfer(ipc=False)
    transfer.ipc = True  # as on a GPU machine with cupy
    worker, request = Worker(), RunRequest(InputRecipe(0, 1), ipc=True)
    lying = RunObservation(outputs=[_desc(nbytes=4)])
    got = transfer.collect(worker, request, lying, torch.device("cpu"), deadline=7.0)
    assert not transfer.ipc and "is not 4 bytes" in transfer.error
    assert worker.requests == [(RunRequest(InputRecipe(0, 1), ipc=False), 7.0)]
    assert torch.equal(got.outputs[0], torch.ones(3))
    # nothing to map: an observation without descriptors, or a fault, passes through untouched
    plain = RunObservation(outputs=[torch.zeros(2)])
    assert transfer.collect(worker, RunRequest(InputRecipe(0, 1)), plain, torch.device("cpu"), 7.0) is plain

