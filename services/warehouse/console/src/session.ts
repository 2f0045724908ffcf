import { type Answer, api } from "./api.js";
import { announce, byId, input, onSubmit, refuse, required } from "./form.js";
import { type Attempt, explain } from "./messages.js";
import { staffToken } from "./token.js";

const signInSection = () => byId("sign-in-section");
const workspace = () => byId("workspace");
const signedIn = () => byId("signed-in");
const tokenField = () => input("token");

function showSignIn(reason?: string): void {
  staffToken.clear();
  workspace().hidden = true;
  signedIn().hidden = true;
  signInSection().hidden = false;
  tokenField().value = "";
  if (reason) refuse(byId<HTMLFormElement>("sign-in"), tokenField(), reason);
  else tokenField().focus();
}

function showWorkspace(actor: string): void {
  signInSection().hidden = true;
  workspace().hidden = false;
  signedIn().hidden = false;
  byId("actor").textContent = `(${actor})`;
}

/** The token entered at sign-in, or back to the sign-in form when there is none. */
export function token(): string | undefined {
  const t = staffToken.get();
  if (!t) showSignIn("Sign in with the staff token first.");
  return t;
}

/** The sentence for a refused request; a refused token also ends the session. */
export function refusal(answer: Answer<unknown> & { ok: false }, attempt: Attempt): string {
  const sentence = explain(answer.error, answer.message, attempt);
  if (answer.status === 401) showSignIn(sentence);
  return sentence;
}

/**
 * Sign-in checks the token with GET /staff/whoami (it changes nothing) before keeping it; a
 * token kept from earlier in this tab is checked again, since it may have been rotated.
 */
export function startSession(firstField: string): Promise<void> {
  onSubmit("sign-in", async (form) => {
    const presented = required(form, tokenField(), "the staff token");
    if (!presented) return;
    const answer = await api.whoami(presented);
    if (!answer.ok) {
      const sentence =
        answer.status === 401
          ? "That token was not accepted: it is not the warehouse staff token. Check it and enter it again."
          : explain(answer.error, answer.message);
      refuse(form, tokenField(), sentence);
      return;
    }
    staffToken.set(presented);
    tokenField().value = "";
    showWorkspace(answer.body.actor);
    announce("Signed in. You can register batches, report damage and delays, and follow dispatches.", "ok");
    input(firstField).focus();
  });

  byId("sign-out").addEventListener("click", () => {
    showSignIn();
    announce("Signed out. The token was removed from this tab.");
  });

  return resume();
}

async function resume(): Promise<void> {
  const stored = staffToken.get();
  if (!stored) return showSignIn();
  const answer = await api.whoami(stored);
  if (answer.ok) showWorkspace(answer.body.actor);
  else if (answer.status === 401)
    showSignIn("The stored token is no longer accepted. Enter the current staff token.");
  else {
    showSignIn();
    announce(explain(answer.error, answer.message), "bad");
  }
}
