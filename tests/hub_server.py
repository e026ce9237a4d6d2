"""A small server that speaks the part of the Hugging Face Hub API the real `huggingface_hub` client uses
to push and pull a model repo and to deploy a Space, for tests over real HTTP on 127.0.0.1
(HF_ENDPOINT points at it).

    python tests/hub_server.py --port 8765 --storage /tmp/hub --user tester:hf_test_token

Implemented, for model repos and Spaces: whoami-v2, repo creation, YAML validation, preupload (every
file "regular"), the NDJSON commit, repo info at a revision, tree listing, the commit log, HEAD/GET
resolve with X-Repo-Commit, ETag and Content-Length. Bearer tokens are checked: writes need the
namespace owner's token, private repos need it to read. Each commit is a full snapshot, so old
revisions stay servable. Fault injection for tests: --fail-status answers every request with that
status; --drop-on-commit closes the connection when a commit arrives, without answering;
--lose-commit-answer makes the commit, then hangs up.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

REPO = r"(?P<repo>[^/]+/[^/]+)"
REVISION = r"(?P<revision>[^/]+)"
KIND = r"(?P<kind>models|spaces)"  # a Space is kept under "spaces/<id>", a model repo under "<id>"
ROUTES = [
    ("GET", re.compile(r"^/api/whoami-v2$"), "whoami"),
    ("POST", re.compile(r"^/api/repos/create$"), "create_repo"),
    ("POST", re.compile(r"^/api/validate-yaml$"), "validate_yaml"),
    ("POST", re.compile(rf"^/api/{KIND}/{REPO}/preupload/{REVISION}$"), "preupload"),
    ("POST", re.compile(rf"^/api/{KIND}/{REPO}/commit/{REVISION}$"), "commit"),
    ("GET", re.compile(rf"^/api/{KIND}/{REPO}(?:/revision/{REVISION})?$"), "repo_info"),
    ("GET", re.compile(rf"^/api/{KIND}/{REPO}/tree/{REVISION}(?:/(?P<path>.*))?$"), "tree"),
    ("GET", re.compile(rf"^/api/{KIND}/{REPO}/commits/{REVISION}$"), "commits"),
    ("GET", re.compile(rf"^/(?P<kind>spaces/)?{REPO}/resolve/{REVISION}/(?P<path>.+)$"), "resolve"),
    ("HEAD", re.compile(rf"^/(?P<kind>spaces/)?{REPO}/resolve/{REVISION}/(?P<path>.+)$"), "resolve"),
]


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def git_blob_sha1(content: bytes) -> str:
    """The id git (and the Hub's preupload 'oid') gives a file's content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class Storage:
    """Repos as commit snapshots ({path: blob id}) in a JSON index, blobs as files by id."""

    def __init__(self, root: Path):
        self.root = root
        (root / "blobs").mkdir(parents=True, exist_ok=True)
        self.index_path = root / "repos.json"
        self.repos = json.loads(self.index_path.read_text()) if self.index_path.exists() else {}
        self.lock = threading.Lock()

    def save(self) -> None:
        handle, temp = tempfile.mkstemp(dir=self.root)
        with os.fdopen(handle, "w") as file:
            json.dump(self.repos, file)
        os.replace(temp, self.index_path)

    def put_blob(self, content: bytes) -> str:
        blob_id = git_blob_sha1(content)
        path = self.root / "blobs" / blob_id
        if not path.exists():
            path.write_bytes(content)
        return blob_id

    def blob(self, blob_id: str) -> bytes:
        return (self.root / "blobs" / blob_id).read_bytes()

    def blob_size(self, blob_id: str) -> int:
        return (self.root / "blobs" / blob_id).stat().st_size

    def repo(self, repo_id: str) -> dict:
        if repo_id not in self.repos:
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return self.repos[repo_id]

    def resolve(self, repo: dict, revision: str) -> str:
        """A branch name or a (full or abbreviated) commit id -> the commit id."""
        revision = unquote(revision)
        if revision in repo["refs"]:
            return repo["refs"][revision]
        matches = [sha for sha in repo["commits"] if len(revision) >= 7 and sha.startswith(revision)]
        if len(matches) == 1:
            return matches[0]
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def create(self, repo_id: str, owner: str, private: bool) -> None:
        first = hashlib.sha1(f"{repo_id} {time.time_ns()}".encode()).hexdigest()
        self.repos[repo_id] = {
            "owner": owner,
            "private": private,
            "refs": {"main": first},
            "commits": {
                first: {"parent": None, "files": {}, "message": "initial commit", "time": time.time()}
            },
        }
        self.save()

    def commit(
        self, repo_id: str, revision: str, message: str, files: dict[str, bytes], deleted: list[str]
    ) -> str:
        repo = self.repo(repo_id)
        parent = self.resolve(repo, revision)
        tree = dict(repo["commits"][parent]["files"])
        for path in deleted:
            tree.pop(path, None)
        for path, content in files.items():
            tree[path] = self.put_blob(content)
        sha = hashlib.sha1(json.dumps([parent, tree, message, time.time_ns()]).encode()).hexdigest()
        repo["commits"][sha] = {"parent": parent, "files": tree, "message": message, "time": time.time()}
        repo["refs"][revision if revision in repo["refs"] else "main"] = sha
        self.save()
        return sha


class HubHandler(BaseHTTPRequestHandler):
    server_version = "TestHub/1.0"
    protocol_version = "HTTP/1.1"

    # -- plumbing ---------------------------------------------------------------------------------

    def log_message(self, format, *args):  # quiet: tests read their own output
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_CONNECT(self):  # as a proxy: with --hang, a tunnel that never opens
        self.dispatch("CONNECT")

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def json_body(self):
        try:
            return json.loads(self.body() or b"{}")
        except json.JSONDecodeError:
            raise HubError(400, "body is not JSON") from None

    def dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = parse_qs(url.query)
        if self.server.hang:
            time.sleep(3600)  # accept the connection, never answer (the thread is a daemon)
            return
        try:
            if self.server.fail_status:
                self.body()
                raise HubError(self.server.fail_status, "injected failure")
            for route_method, pattern, name in ROUTES:
                match = pattern.match(url.path)
                if match and route_method == method:
                    arguments = {k: v for k, v in match.groupdict().items() if v is not None}
                    if arguments.pop("kind", "models").startswith("spaces"):
                        arguments["repo"] = f"spaces/{arguments['repo']}"
                    with self.server.storage.lock:
                        getattr(self, name)(**arguments)
                    return
            raise HubError(404, f"no route for {method} {url.path}")
        except HubError as error:
            self.send_json(
                {"error": error.message}, error.status, {"X-Error-Code": error.code} if error.code else {}
            )
        except ConnectionError:
            pass

    def send_json(self, value, status: int = 200, headers: dict | None = None) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, header in (headers or {}).items():
            self.send_header(key, header)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def user(self, required: bool = True) -> str | None:
        header = self.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        user = self.server.tokens.get(token) if token else None
        if required and user is None:
            raise HubError(
                401,
                "Invalid credentials in Authorization header" if token else "Authorization header is missing",
            )
        return user

    def readable_repo(self, repo_id: str) -> dict:
        repo = self.server.storage.repo(repo_id)
        if repo["private"] and self.user(required=False) != repo["owner"]:
            raise HubError(401, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def writable_repo(self, repo_id: str) -> dict:
        user = self.user()
        repo = self.server.storage.repo(repo_id)
        if repo["owner"] != user:
            raise HubError(403, f"You don't have the rights to write to {repo_id}")
        return repo

    # -- the API ----------------------------------------------------------------------------------

    def whoami(self):
        name = self.user()
        self.send_json(
            {
                "type": "user",
                "name": name,
                "fullname": name,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": "write"}},
            }
        )

    def create_repo(self):
        user = self.user()
        payload = self.json_body()
        namespace = payload.get("organization") or user
        kind = payload.get("type", "model")
        if kind not in ("model", "space"):
            raise HubError(400, "this test Hub holds model repos and Spaces only")
        if kind == "space" and payload.get("sdk") not in ("gradio", "docker", "static"):
            raise HubError(400, "a Space needs an sdk: gradio, docker or static")
        if namespace != user:
            raise HubError(403, f"You don't have the rights to create a repo under {namespace}")
        repo_id = f"{namespace}/{payload.get('name', '')}"
        if not re.match(r"^[\w.-]+/[\w.-]+$", repo_id):
            raise HubError(400, f"invalid repo name {repo_id!r}")
        url = f"{self.server.base_url}/{'spaces/' if kind == 'space' else ''}{repo_id}"
        repo_id = f"spaces/{repo_id}" if kind == "space" else repo_id
        storage = self.server.storage
        if repo_id in storage.repos:
            raise_conflict = {"error": "You already created this model repo", "url": url}
            return self.send_json(raise_conflict, 409)
        storage.create(repo_id, user, payload.get("private") or payload.get("visibility") == "private")
        self.send_json({"url": url, "name": repo_id})

    def validate_yaml(self):
        content = self.json_body().get("content", "")
        match = re.match(r"^---\n(.*?)\n---", content, re.S)
        if match:
            try:
                metadata = yaml.safe_load(match.group(1))
            except yaml.YAMLError as error:
                return self.send_json(
                    {"errors": [{"message": f"invalid YAML: {error}"}], "warnings": []}, 400
                )
            if metadata is not None and not isinstance(metadata, dict):
                return self.send_json(
                    {"errors": [{"message": "metadata must be a mapping"}], "warnings": []}, 400
                )
        self.send_json({"errors": [], "warnings": []})

    def preupload(self, repo, revision):
        repo_state = self.writable_repo(repo)
        head = self.server.storage.resolve(repo_state, revision)
        existing = repo_state["commits"][head]["files"]
        files = [
            {
                "path": item["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": existing.get(item["path"]),
            }
            for item in self.json_body().get("files", [])
        ]
        self.send_json({"files": files, "commitOid": head})

    def commit(self, repo, revision):
        self.writable_repo(repo)
        lines = [json.loads(line) for line in self.body().splitlines() if line.strip()]
        if self.server.drop_on_commit:
            self.close_connection = True
            self.connection.shutdown(2)  # hang up without an answer, as a dropped connection does
            raise ConnectionError
        header = next((line["value"] for line in lines if line.get("key") == "header"), {})
        files, deleted = {}, []
        for line in lines:
            if line.get("key") == "file":
                files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
            elif line.get("key") == "deletedFile":
                deleted.append(line["value"]["path"])
            elif line.get("key") in ("lfsFile", "deletedFolder"):
                raise HubError(400, f"{line['key']} is not supported by this test Hub")
        if not files and not deleted:
            raise HubError(400, "empty commit")
        if len(files) + len(deleted) > self.server.max_files_per_commit:
            raise HubError(400, f"a commit may change at most {self.server.max_files_per_commit} files")
        sha = self.server.storage.commit(repo, unquote(revision), header.get("summary", ""), files, deleted)
        if self.server.lose_commit_answer:
            self.close_connection = True
            self.connection.shutdown(2)  # the commit landed, but its answer never arrives
            raise ConnectionError
        self.send_json(
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self.server.base_url}/{repo}/commit/{sha}",
                "pullRequestUrl": None,
            }
        )

    def repo_info(self, repo, revision="main"):
        repo_state = self.readable_repo(repo)
        sha = self.server.storage.resolve(repo_state, revision)
        commit = repo_state["commits"][sha]
        self.send_json(
            {
                "id": repo.removeprefix("spaces/"),
                "modelId": repo.removeprefix("spaces/"),
                "author": repo_state["owner"],
                "sha": sha,
                "private": repo_state["private"],
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(commit["time"])),
                "siblings": [  # with each file's size, as the Hub gives it for blobs=true
                    {"rfilename": path, "size": self.server.storage.blob_size(blob_id)}
                    for path, blob_id in sorted(commit["files"].items())
                ],
            }
        )

    def commits(self, repo, revision):
        repo_state = self.readable_repo(repo)
        sha, history = self.server.storage.resolve(repo_state, revision), []
        while sha is not None:
            commit = repo_state["commits"][sha]
            date = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(commit["time"]))
            history.append({"id": sha, "title": commit["message"], "message": "", "date": date,
                            "authors": [{"user": repo_state["owner"]}]})  # fmt: skip
            sha = commit["parent"]
        self.send_json(history)

    def tree(self, repo, revision, path=""):
        repo_state = self.readable_repo(repo)
        files = repo_state["commits"][self.server.storage.resolve(repo_state, revision)]["files"]
        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        recursive = self.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        entries, folders = [], set()
        for file_path, blob_id in sorted(files.items()):
            if not file_path.startswith(prefix):
                continue
            rest = file_path[len(prefix) :]
            if "/" in rest and not recursive:
                folders.add(prefix + rest.split("/")[0])
                continue
            parts = rest.split("/")[:-1]
            folders.update(prefix + "/".join(parts[: i + 1]) for i in range(len(parts)))
            entries.append(
                {
                    "type": "file",
                    "oid": blob_id,
                    "size": len(self.server.storage.blob(blob_id)),
                    "path": file_path,
                }
            )
        self.send_json(
            [{"type": "directory", "oid": "0" * 40, "size": 0, "path": folder} for folder in sorted(folders)]
            + entries
        )

    def resolve(self, repo, revision, path):
        repo_state = self.readable_repo(repo)
        sha = self.server.storage.resolve(repo_state, revision)
        blob_id = repo_state["commits"][sha]["files"].get(unquote(path))
        if blob_id is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        content = self.server.storage.blob(blob_id)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("ETag", f'"{blob_id}"')
        self.send_header("X-Repo-Commit", sha)
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(content)


class HubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        port: int,
        storage: Path,
        tokens: dict[str, str],
        fail_status: int | None = None,
        drop_on_commit: bool = False,
        verbose: bool = False,
        hang: bool = False,
        max_files_per_commit: int = 100,
        lose_commit_answer: bool = False,
    ):
        super().__init__(("127.0.0.1", port), HubHandler)
        self.storage = Storage(storage)
        self.tokens = tokens
        self.fail_status = fail_status
        self.drop_on_commit = drop_on_commit
        self.verbose = verbose
        self.hang = hang
        self.max_files_per_commit = max_files_per_commit
        self.lose_commit_answer = lose_commit_answer
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="A Hub-compatible HTTP server for tests (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--storage", required=True, help="folder for repos and blobs (kept between runs)")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:TOKEN",
        help="a user and the token that authenticates them (repeatable); default tester:hf_test_token",
    )
    parser.add_argument(
        "--fail-status", type=int, default=None, help="answer every request with this HTTP status"
    )
    parser.add_argument(
        "--drop-on-commit", action="store_true", help="hang up on commit requests without answering"
    )
    parser.add_argument(
        "--lose-commit-answer", action="store_true", help="make each commit, then hang up without answering"
    )
    parser.add_argument("--hang", action="store_true", help="accept every connection and never answer")
    parser.add_argument("--max-files-per-commit", type=int, default=100, help="refuse bigger commits")
    parser.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    tokens = dict(reversed(item.split(":", 1)) for item in (args.user or ["tester:hf_test_token"]))
    server = HubServer(
        args.port,
        Path(args.storage),
        tokens,
        args.fail_status,
        args.drop_on_commit,
        args.verbose,
        args.hang,
        args.max_files_per_commit,
        args.lose_commit_answer,
    )
    print(f"test Hub listening on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
