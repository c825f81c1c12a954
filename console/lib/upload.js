// Media uploads straight from the browser to Cloud Storage: POST /media/upload-url, PUT the
// bytes to the signed URL with exactly the headers it was signed with (XMLHttpRequest, for
// upload progress events), then POST /media/confirm.

import { media, uploadTicket, uploadUrlBody } from "./fields.js";

/** "IMAGE" or "VIDEO" from a file's MIME type (null: not uploadable). */
export function kindOf(file) {
  if (file.type.startsWith("image/")) return "IMAGE";
  if (file.type.startsWith("video/")) return "VIDEO";
  return null;
}

function put(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method, ticket.url);
    for (const [name, value] of Object.entries(ticket.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`storage answered ${xhr.status}`)));
    xhr.onerror = () => reject(new Error("the upload was blocked or interrupted (network or CORS)"));
    xhr.send(file);
  });
}

/** Upload `file`; onProgress(loaded, total) in bytes. Resolves with the confirmed media. */
export async function uploadMedia(api, file, onProgress = () => {}) {
  const kind = kindOf(file);
  if (!kind) throw new Error(`${file.name}: only images and videos can be attached`);
  const ticket = uploadTicket(await api.post("/media/upload-url", uploadUrlBody(file, kind)));
  await put(ticket, file, onProgress);
  onProgress(file.size, file.size);
  return media(await api.post("/media/confirm", { mediaId: ticket.mediaId }));
}
