import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled])';

/**
 * A modal dialog: focus moves into it, Tab and Shift+Tab stay inside, Escape closes it, and
 * focus returns to what opened it. A live change may re-render the page under the dialog and
 * replace its opener with a new element: focus then goes to the element that now has the
 * opener's id, so give openers an id.
 */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; danger?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  // Read while rendering, before the dialog takes focus: the control that opened it.
  const [opener] = useState(() => document.activeElement as HTMLElement | null);
  // A layout effect: focus is inside the dialog in the same commit that shows it, so that no
  // key pressed at once goes to the page behind.
  useLayoutEffect(() => {
    const first = box.current?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => {
      const back = opener?.isConnected || !opener?.id ? opener : document.getElementById(opener.id);
      back?.focus();
    };
  }, [opener]);
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      props.onClose();
      return;
    }
    if (e.key !== 'Tab' || box.current === null) return;
    const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = items[0];
    const last = items.at(-1);
    if (first === undefined || last === undefined) return;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  return (
    <div class="backdrop">
      <div
        class={props.danger === true ? 'dialog danger' : 'dialog'}
        role="dialog"
        aria-modal="true"
        aria-labelledby="dialog-title"
        ref={box}
        onKeyDown={onKeyDown}
      >
        <h2 id="dialog-title">{props.title}</h2>
        {props.children}
      </div>
    </div>
  );
}
