"""One CPU thread for torch in these tests: the machine's cores are shared, and threads only add contention
on 32 px images."""
import pytest


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

