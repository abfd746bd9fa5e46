import { useEffect, useState } from 'react';
import type { z } from 'zod';
import { SelectField, TextField } from '../../nodes/forms/kit';
import { authorizationCodeSettingsSchema, credentialInputSchema, credentialNameSchema } from '../../runtime/credentials/types';
import type { CredentialSummary } from '../api/client';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import type { CredentialProblem } from '../store/types';
import { Modal } from './Dialogs';

type Kind = 'token' | 'basic' | 'oauth2';
type Grant = 'authorization_code' | 'client_credentials';

/** What the callback page of a consent says (runtime/api/oauth.ts), through a BroadcastChannel or the opener. */
interface ConsentMessage {
  type: 'syncline.oauth';
  credential: string | null;
  ok: boolean;
  message: string;
}

const isConsentMessage = (data: unknown): data is ConsentMessage => typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'syncline.oauth';

/** How often the list is read again while a consent is open, for a browser where the callback page cannot tell us. */
const CONSENT_POLL_MS = 2000;

/** A credential's kind in words. */
function describeKind(credential: CredentialSummary): string {
  if ('grant' in credential) return credential.grant === 'authorization_code' ? 'OAuth2, signed in' : 'OAuth2, client credentials';
  if (credential.type === 'token') return 'API token';
  if (credential.type === 'basic') return 'Username and password';
  return `Token (${credential.type})`;
}

/** The field a problem's path names, as the form keys its errors: `value.password` → `password`, `value` → `token`. */
function fieldOf(path: string | null | undefined): string {
  if (!path) return 'form';
  const inValue = path.replace(/^value\.?/, '');
  if (path === 'value') return 'token';
  return inValue.split('.')[0] || 'form';
}

function issuesByField(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = fieldOf(issue.path.map(String).join('.'));
    errors[field] ??= issue.message;
  }
  return errors;
}

/** Leaves out what was not filled in, so the schema's "optional" applies rather than "must not be empty". */
function filled(entries: Record<string, string | string[]>): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => (Array.isArray(value) ? value.length > 0 : value.trim() !== '')).map(([key, value]) => [key, Array.isArray(value) ? value : value.trim()]));
}

/** The form for a new credential: a token, a username and password, or an OAuth2 app. Never JSON. */
function AddCredentialForm({ connect, busy }: { connect(name: string, settings: Record<string, unknown>): Promise<CredentialProblem | null>; busy: boolean }) {
  const store = useFlowStoreApi();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Kind>('token');
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [grant, setGrant] = useState<Grant>('authorization_code');
  const [issuer, setIssuer] = useState('');
  const [authorizationEndpoint, setAuthorizationEndpoint] = useState('');
  const [tokenEndpoint, setTokenEndpoint] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [scopes, setScopes] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const redirectUri = `${window.location.origin}/api/oauth/callback`;

  const clearSecrets = () => {
    setToken('');
    setPassword('');
    setClientSecret('');
  };

  const submit = async () => {
    const checkedName = credentialNameSchema.safeParse(name.trim());
    if (!checkedName.success) {
      setErrors({ name: checkedName.error.issues[0]?.message ?? 'not a valid name' });
      return;
    }
    const scopeList = scopes.split(/[\s,]+/).filter((scope) => scope !== '');
    let problem: CredentialProblem | null;
    setSaving(true);
    try {
      if (kind === 'oauth2' && grant === 'authorization_code') {
        const settings = filled({ issuer, authorizationEndpoint, tokenEndpoint, clientId, clientSecret, scopes: scopeList });
        const checked = authorizationCodeSettingsSchema.safeParse(settings);
        if (!checked.success) return setErrors(issuesByField(checked.error));
        if (!settings.clientId) return setErrors({ clientId: 'is required: the client id of the app registered with the provider' });
        if (!settings.issuer && (!settings.authorizationEndpoint || !settings.tokenEndpoint)) {
          return setErrors({ issuer: 'give the issuer, or both the authorization and the token URL' });
        }
        problem = await connect(checkedName.data, checked.data);
      } else {
        const input =
          kind === 'token'
            ? { type: 'token', value: token }
            : kind === 'basic'
              ? { type: 'basic', value: { username: username.trim(), password } }
              : { type: 'oauth2', value: { grant: 'client_credentials', ...filled({ issuer, tokenEndpoint, clientId, clientSecret, scopes: scopeList }) } };
        const checked = credentialInputSchema.safeParse(input);
        if (!checked.success) return setErrors(issuesByField(checked.error));
        problem = await store.getState().addCredential(checkedName.data, checked.data.type, checked.data.value);
      }
    } finally {
      setSaving(false);
    }
    if (problem) {
      const field = problem.path === 'name' ? 'name' : fieldOf(problem.path);
      setErrors({ [field]: problem.message });
      return;
    }
    setErrors({});
    clearSecrets();
    setName('');
  };

  const oauthCode = kind === 'oauth2' && grant === 'authorization_code';
  return (
    <form
      className="sl-credential-form"
      aria-label="Add a credential"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h3>Add a credential</h3>
      <TextField label="Name" value={name} onChange={setName} error={errors.name} hint="How flows name it, e.g. github-issues. Letters, digits, . _ -" />
      <SelectField
        label="Kind"
        value={kind}
        options={[
          { value: 'token', label: 'API token' },
          { value: 'basic', label: 'Username and password' },
          { value: 'oauth2', label: 'OAuth2' },
        ]}
        onChange={(value) => {
          setKind(value as Kind);
          setErrors({});
        }}
      />
      {kind === 'token' ? <TextField secret label="Token" value={token} onChange={setToken} error={errors.token} hint="Sent as a bearer token, or where the connector puts its API key." /> : null}
      {kind === 'basic' ? (
        <>
          <TextField label="Username" value={username} onChange={setUsername} error={errors.username} hint="For a Zendesk API token: you@example.com/token" />
          <TextField secret label="Password" value={password} onChange={setPassword} error={errors.password} hint="Or the API token that goes with the username." />
        </>
      ) : null}
      {kind === 'oauth2' ? (
        <>
          <SelectField
            label="How Syncline signs in"
            value={grant}
            options={[
              { value: 'authorization_code', label: 'A person grants access (authorization code)' },
              { value: 'client_credentials', label: 'As the app itself (client credentials)' },
            ]}
            onChange={(value) => {
              setGrant(value as Grant);
              setErrors({});
            }}
          />
          <TextField label="Issuer URL" value={issuer} onChange={setIssuer} error={errors.issuer} placeholder="https://auth.example.com" hint="Where the provider publishes its endpoints. Or leave it empty and give the URLs below." />
          {oauthCode ? <TextField label="Authorization URL" value={authorizationEndpoint} onChange={setAuthorizationEndpoint} error={errors.authorizationEndpoint} placeholder="https://example.com/oauth/authorize" /> : null}
          <TextField label="Token URL" value={tokenEndpoint} onChange={setTokenEndpoint} error={errors.tokenEndpoint} placeholder="https://example.com/oauth/token" />
          <TextField label="Client ID" value={clientId} onChange={setClientId} error={errors.clientId} />
          <TextField secret label="Client secret" value={clientSecret} onChange={setClientSecret} error={errors.clientSecret} hint={oauthCode ? 'Leave empty for a public app (PKCE only).' : undefined} />
          <TextField label="Scopes" value={scopes} onChange={setScopes} error={errors.scopes} placeholder="read write" hint="Separated by spaces." />
          {oauthCode ? (
            <p className="sl-muted">
              Register this redirect URL with the provider: <code>{redirectUri}</code>
            </p>
          ) : null}
        </>
      ) : null}
      {errors.form ? (
        <p className="sl-error" role="alert">
          {errors.form}
        </p>
      ) : null}
      <button type="submit" className="sl-primary" disabled={saving || busy}>
        {oauthCode ? 'Connect' : 'Add credential'}
      </button>
    </form>
  );
}

/** One stored credential: its kind and state, and what can be done with it. */
function CredentialRow({ credential, connecting, reconnect }: { credential: CredentialSummary; connecting: boolean; reconnect(): void }) {
  const store = useFlowStoreApi();
  const [confirming, setConfirming] = useState(false);
  const oauth = 'grant' in credential ? credential : null;
  return (
    <li className="sl-credential" aria-label={`Credential ${credential.name}`}>
      <div>
        <strong>{credential.name}</strong> <span className="sl-muted">{describeKind(credential)}</span>
        {oauth ? (
          <div className={oauth.status === 'connected' ? 'sl-muted' : 'sl-error'} role="status">
            {connecting ? 'Waiting for the sign-in to finish…' : oauth.status === 'connected' ? 'Connected' : `Needs reconnecting: ${oauth.refusal ?? 'the provider refused it'}`}
          </div>
        ) : null}
      </div>
      <div className="sl-credential__actions">
        {oauth?.grant === 'authorization_code' ? (
          <button type="button" onClick={reconnect} disabled={connecting}>
            Reconnect
          </button>
        ) : null}
        {confirming ? (
          <>
            <button type="button" className="sl-danger" onClick={() => void store.getState().removeCredential(credential.name)}>
              Delete {credential.name}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" aria-label={`Delete credential ${credential.name}`} onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </div>
    </li>
  );
}

/**
 * The credentials dialog: what the runtime stores to reach the systems (names and kinds, never values), a form to add
 * one, and the OAuth2 consent: Connect opens the provider's page in a popup, and the credential shows as connected when
 * the runtime's callback page says so (or, where it cannot, when the list shows it).
 */
export function CredentialsDialog() {
  const store = useFlowStoreApi();
  const credentials = useFlowStore((state) => state.server.credentials);
  const reachable = useFlowStore((state) => state.server.reachable);
  const [pending, setPending] = useState<{ name: string; baseline: string | null; authorizationUrl: string } | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | null>(null);

  useEffect(() => {
    void store.getState().loadCredentials();
  }, [store]);

  // While a consent is open: hear the callback page, and read the list again in case it cannot be heard.
  useEffect(() => {
    if (!pending) return;
    const finish = (message: ConsentMessage) => {
      if (message.credential !== null && message.credential !== pending.name) return;
      setPending(null);
      // The page's own words are for the popup; a failure's say what went wrong, so they are shown here too.
      setOutcome({ ok: message.ok, message: message.ok ? `The credential "${pending.name}" is connected.` : message.message });
      void store.getState().loadCredentials();
    };
    const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('syncline.oauth') : null;
    const onChannel = (event: MessageEvent) => isConsentMessage(event.data) && finish(event.data);
    const onWindow = (event: MessageEvent) => event.origin === window.location.origin && isConsentMessage(event.data) && finish(event.data);
    channel?.addEventListener('message', onChannel);
    window.addEventListener('message', onWindow);
    const timer = setInterval(() => void store.getState().loadCredentials(), CONSENT_POLL_MS);
    return () => {
      channel?.removeEventListener('message', onChannel);
      channel?.close();
      window.removeEventListener('message', onWindow);
      clearInterval(timer);
    };
  }, [pending, store]);

  // The list shows the credential connected that was not before: the consent finished.
  useEffect(() => {
    if (!pending) return;
    const entry = credentials?.find((credential) => credential.name === pending.name);
    if (entry && 'grant' in entry && entry.status === 'connected' && pending.baseline !== 'connected') {
      setPending(null);
      setOutcome({ ok: true, message: `The credential "${pending.name}" is connected.` });
    }
  }, [credentials, pending]);

  const connect = async (name: string, settings: Record<string, unknown>): Promise<CredentialProblem | null> => {
    // Opened now, while the click still counts as one: a popup opened after the API answers would be blocked.
    const popup = window.open('', 'syncline-oauth', 'popup,width=560,height=720');
    const started = await store.getState().startOAuth(name, settings);
    if ('message' in started) {
      popup?.close();
      return started;
    }
    if (popup && !popup.closed) popup.location.href = started.authorizationUrl;
    const existing = store.getState().server.credentials?.find((credential) => credential.name === name);
    setOutcome(null);
    setPending({ name, baseline: existing && 'grant' in existing ? existing.status : null, authorizationUrl: started.authorizationUrl });
    return null;
  };

  return (
    <Modal title="Credentials" onClose={() => store.getState().openDialog(null)}>
      <p className="sl-muted">Secrets stay on the runtime, encrypted. A flow names a credential; exporting a flow never writes a secret.</p>
      {reachable === false ? <p className="sl-error">The runtime is not reachable: credentials are stored there.</p> : null}
      {credentials === null ? null : credentials.length === 0 ? (
        <p>No credentials yet.</p>
      ) : (
        <ul className="sl-credentials" aria-label="Stored credentials">
          {credentials.map((credential) => (
            <CredentialRow key={credential.name} credential={credential} connecting={pending?.name === credential.name} reconnect={() => void connect(credential.name, {})} />
          ))}
        </ul>
      )}
      {pending ? (
        <p role="status">
          Finish the sign-in in the window that opened.{' '}
          <a href={pending.authorizationUrl} target="syncline-oauth">
            Open it again
          </a>
          {' · '}
          <button type="button" onClick={() => setPending(null)}>
            Cancel
          </button>
        </p>
      ) : null}
      {outcome ? (
        <p className={outcome.ok ? 'sl-success' : 'sl-error'} role="alert">
          {outcome.message}
        </p>
      ) : null}
      <AddCredentialForm connect={connect} busy={pending !== null} />
    </Modal>
  );
}
