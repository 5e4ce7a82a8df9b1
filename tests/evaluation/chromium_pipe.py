"""Headless Chromium driven over the DevTools protocol on a pipe (no websocket, no driver).

``--remote-debugging-pipe`` makes Chromium read protocol commands from fd 3 and write replies
and events to fd 4, each a JSON message ended by a NUL byte. That is all the tests need to
open a page, await a promise it exposes and read the value back, in real time (so audio
clocks and timers run as they would for a person).
"""

import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required')


class BrowserError(RuntimeError):
  pass


class Chromium:
  """One headless Chromium with one page; use as a context manager."""

  def __init__(self, timeout: float = 120.0):
    self._timeout = timeout
    self._profile = tempfile.mkdtemp(prefix='chromium-profile-')
    to_chrome_r, self._to_chrome = os.pipe()
    self._from_chrome, from_chrome_w = os.pipe()
    # The child sees our pipe ends as its fds 3 (commands in) and 4 (replies out).
    os.set_inheritable(to_chrome_r, True)
    os.set_inheritable(from_chrome_w, True)

    def child_fds():
      os.dup2(to_chrome_r, 3)
      os.dup2(from_chrome_w, 4)

    self._proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, '--remote-debugging-pipe', '--user-data-dir=' + self._profile,
         'about:blank'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, preexec_fn=child_fds, close_fds=False)
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    self._buffer = b''
    self._next_id = 0
    self._session = None

  def __enter__(self):
    targets = self.send('Target.getTargets')['targetInfos']
    page = [t for t in targets if t['type'] == 'page'][0]
    self._session = self.send('Target.attachToTarget', targetId=page['targetId'],
                              flatten=True)['sessionId']
    self.send('Page.enable')
    self.send('Runtime.enable')
    return self

  def __exit__(self, *exc):
    self._proc.kill()
    self._proc.wait()
    for fd in (self._to_chrome, self._from_chrome):
      os.close(fd)
    shutil.rmtree(self._profile, ignore_errors=True)

  def _read_message(self, deadline: float) -> dict:
    while b'\0' not in self._buffer:
      left = deadline - time.monotonic()
      if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
        raise BrowserError('no reply from Chromium within %.0f s' % self._timeout)
      chunk = os.read(self._from_chrome, 1 << 20)
      if not chunk:
        raise BrowserError('Chromium closed the pipe (exit code %s)' % self._proc.poll())
      self._buffer += chunk
    message, self._buffer = self._buffer.split(b'\0', 1)
    return json.loads(message)

  def send(self, method: str, **params) -> dict:
    """Sends one command (to the page once attached) and returns its result."""
    self._next_id += 1
    message = {'id': self._next_id, 'method': method, 'params': params}
    if self._session and not method.startswith('Target.'):
      message['sessionId'] = self._session
    os.write(self._to_chrome, json.dumps(message).encode() + b'\0')
    deadline = time.monotonic() + self._timeout
    while True:
      reply = self._read_message(deadline)
      if reply.get('id') == self._next_id:
        if 'error' in reply:
          raise BrowserError('%s: %s' % (method, reply['error']))
        return reply.get('result', {})

  def open(self, url: str) -> None:
    """Navigates and waits for the load event."""
    self.send('Page.navigate', url=url)
    self.evaluate('new Promise(function (done) { if (document.readyState === "complete") '
                  'done(true); else window.addEventListener("load", function () { done(true); '
                  '}); })')

  def evaluate(self, expression: str):
    """The value of ``expression`` (a promise is awaited); page exceptions raise."""
    result = self.send('Runtime.evaluate', expression=expression, awaitPromise=True,
                       returnByValue=True)
    if 'exceptionDetails' in result:
      details = result['exceptionDetails']
      raise BrowserError(details.get('exception', {}).get('description') or details['text'])
    return result['result'].get('value')
