import { useEffect } from 'react';
import { useFlowStore, useFlowStoreApi } from '../store/context';

const INFO_MS = 6000;

/** The latest notice: a refused connection, an API error, a finished run. Errors stay until dismissed. */
export function NoticeBar() {
  const notice = useFlowStore((state) => state.notice);
  const store = useFlowStoreApi();
  useEffect(() => {
    if (notice?.tone !== 'info') return;
    const timer = setTimeout(() => store.getState().dismissNotice(), INFO_MS);
    return () => clearTimeout(timer);
  }, [notice, store]);
  if (!notice) return null;
  return (
    <div className={`sl-notice sl-notice--${notice.tone}`} role={notice.tone === 'error' ? 'alert' : 'status'} key={notice.serial}>
      <span className="sl-notice__text">{notice.text}</span>
      <button type="button" onClick={() => store.getState().dismissNotice()}>
        Dismiss
      </button>
    </div>
  );
}
