/** Saves bytes as a file through a Blob link: the data never leaves the page. */
export function downloadBytes(bytes: Uint8Array, fileName: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has started the download once click() returns; free the blob a little later.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
