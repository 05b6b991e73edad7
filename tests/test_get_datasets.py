"""Does the CIFAR-10 downloader verify, resume, retry and extract all-or-nothing?

The server is a local one on 127.0.0.1 that serves a CIFAR-format archive the
test builds; it supports HTTP Range and can drop the first connection midway.
"""

import hashlib
import importlib.util
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import write_cifar_fixture

from cs_loss import load_CIFAR10

SCRIPT = Path(__file__).resolve().parent.parent / "data" / "get_datasets.py"
spec = importlib.util.spec_from_file_location("get_datasets", SCRIPT)
get_datasets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(get_datasets)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("src") / "cifar-10-batches-py"
    write_cifar_fixture(folder, images_per_batch=20)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return buffer.getvalue()


@pytest.fixture
def server(archive):
    """Yields (url, state); state["drop_first"] makes the first GET stop halfway."""
    state = {"drop_first": False, "requests": [], "payload": archive}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            payload = state["payload"]
            start = 0
            header = self.headers.get("Range")
            state["requests"].append(header)
            if header:
                start = int(header.split("=")[1].rstrip("-"))
                self.send_response(206)
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(payload) - start))
            self.end_headers()
            body = payload[start:]
            if state["drop_first"]:
                state["drop_first"] = False
                body = body[: len(body) // 2]
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/cifar-10-python.tar.gz", state
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_extracts(server, archive, tmp_path):
    url, _ = server
    md5 = hashlib.md5(archive).hexdigest()
    target = get_datasets.get_cifar10(tmp_path, url=url, md5=md5, quiet=True)
    assert target == tmp_path / "cifar-10-batches-py"
    X_train, y_train, X_test, y_test = load_CIFAR10(target)
    assert X_train.shape == (100, 32, 32, 3) and X_test.shape == (20, 32, 32, 3)
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cifar-10-batches-py"]


def test_interrupted_download_resumes_with_range(server, archive, tmp_path, monkeypatch):
    url, state = server
    state["drop_first"] = True
    monkeypatch.setattr(get_datasets.time, "sleep", lambda s: None)
    md5 = hashlib.md5(archive).hexdigest()
    get_datasets.get_cifar10(tmp_path, url=url, md5=md5, quiet=True)
    # The first connection delivered half the file; the retry asks for the rest only.
    assert state["requests"] == [None, f"bytes={len(archive) // 2}-"]
    assert len(load_CIFAR10(tmp_path / "cifar-10-batches-py")[1]) == 100


def test_wrong_checksum_leaves_nothing_behind(server, tmp_path):
    url, _ = server
    with pytest.raises(get_datasets.DownloadError, match="has md5 .* expected 0000"):
        get_datasets.get_cifar10(tmp_path, url=url, md5="0000", quiet=True)
    assert list(tmp_path.iterdir()) == []


def test_archive_without_cifar_files_is_not_installed(server, tmp_path):
    url, state = server
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    state["payload"] = buffer.getvalue()
    with pytest.raises(get_datasets.DownloadError, match="lacks batches.meta"):
        get_datasets.get_cifar10(
            tmp_path, url=url, md5=hashlib.md5(buffer.getvalue()).hexdigest(), quiet=True
        )
    assert not (tmp_path / "cifar-10-batches-py").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cifar-extract")]


def test_unreachable_url_fails_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(get_datasets.time, "sleep", lambda s: None)
    with pytest.raises(get_datasets.DownloadError, match="after 2 attempts.*--url"):
        get_datasets.fetch(
            "http://127.0.0.1:9/none.tar.gz",
            tmp_path / "a.tar.gz",
            retries=2,
            timeout=2,
            quiet=True,
        )


def test_existing_dataset_is_not_downloaded_again(tmp_path):
    write_cifar_fixture(tmp_path / "cifar-10-batches-py")
    target = get_datasets.get_cifar10(tmp_path, url="http://127.0.0.1:9/unused", quiet=True)
    assert target.is_dir()


@pytest.mark.parametrize("has_data_filter", [True, False])
def test_an_archive_member_escaping_the_folder_is_refused(tmp_path, monkeypatch, has_data_filter):
    """Python < 3.11.4 has no extraction filter: the script refuses such members itself."""
    if not has_data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        payload = b"pwned"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    (tmp_path / "dest").mkdir()
    with pytest.raises((get_datasets.DownloadError, tarfile.TarError)):
        get_datasets.extract(archive, tmp_path / "dest")
    assert not (tmp_path / "escaped.txt").exists()
